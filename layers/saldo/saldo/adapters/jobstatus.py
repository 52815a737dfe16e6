"""Status items of long-running jobs (imports, exports, reports) in the table.

A running job carries `gsi1pk = "RUNNING"` and `gsi1sk = <updated_at ISO>`, so the sweep finds stale
ones with one index query; finishing a job removes those attributes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings

RUNNING = "RUNNING"


class JobStatusStore:
    def __init__(self, table_name: str | None = None) -> None:
        self.table_name = table_name or settings().table_name

    def fail_running_before(self, cutoff: datetime, reason: str) -> int:
        ddb = client("dynamodb")
        count = 0
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :r AND gsi1sk < :cutoff",
            "ExpressionAttributeValues": {":r": {"S": RUNNING}, ":cutoff": {"S": cutoff.isoformat()}},
        }
        while True:
            page = ddb.query(**kwargs)
            for item in page.get("Items", []):
                try:
                    ddb.update_item(
                        TableName=self.table_name,
                        Key={"pk": item["pk"], "sk": item["sk"]},
                        UpdateExpression=(
                            "SET #s = :failed, #e = list_append(if_not_exists(#e, :empty), :err) "
                            "REMOVE gsi1pk, gsi1sk"
                        ),
                        ConditionExpression="gsi1pk = :r",
                        ExpressionAttributeNames={"#s": "status", "#e": "errors"},
                        ExpressionAttributeValues={
                            ":failed": {"S": "FAILED"},
                            ":r": {"S": RUNNING},
                            ":err": {"L": [{"S": reason}]},
                            ":empty": {"L": []},
                        },
                    )
                    count += 1
                except ddb.exceptions.ConditionalCheckFailedException:
                    pass  # finished while we looked
            if "LastEvaluatedKey" not in page:
                return count
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
