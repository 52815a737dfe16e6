"""IAM for the template's functions, checked against what their code really calls.

Three parts, used by tests/security/test_iam.py:

- `Recorder` hooks every boto3 client (botocore's `before-parameter-build` and `after-call` events, which
  also fire for presigned URLs) and attributes each call to the function whose handler is running (the
  local stack's `current_function` context variable, carried into threads and pools the handler starts).
- `requests_for` turns a call into what IAM authorizes: `service:Action` on a resource ARN, with the
  request's `dynamodb:LeadingKeys` (a transaction is authorized item by item; S3 operations map onto
  their IAM actions, e.g. HeadObject is `s3:GetObject`).
- `function_policies` translates template.yaml with aws-sam-translator (SAM's own expansion of policy
  templates such as `DynamoDBCrudPolicy`) and `Policy.decide` evaluates a request against a role's
  statements: an explicit Deny wins, then any Allow, else it is denied, as IAM does.
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from saldo_tools.localstack.functions import current_function
from saldo_tools.localstack.template import ACCOUNT_ID, Resolver

# ---------------------------------------------------------------- recording


@dataclass
class Call:
    """One AWS API call (or presigned URL) made by a function's code."""

    function: str
    service: str  # the IAM prefix: the service's signing name (s3, dynamodb, sqs, events, ses)
    operation: str
    params: dict[str, Any]
    region: str
    presigned: bool = False
    status: int | None = None  # HTTP status of the answer; None for a presigned URL

    def __str__(self) -> str:
        return f"{self.function}: {self.service}.{self.operation}"


class Recorder:
    """Records the AWS calls of the local stack's functions while it is active.

    Start it before the stack: it hooks clients as botocore creates them and forgets the cached ones.
    Calls made while no function runs (test set-up, the stack's own pollers) are not recorded.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._restore: list[tuple[Any, str, Any]] = []
        self._active = False

    def start(self) -> Recorder:
        import botocore.session

        recorder = self
        create_client = botocore.session.Session.create_client

        def hooked_create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = create_client(session, *args, **kwargs)
            recorder.hook(client)
            return client

        self._patch(botocore.session.Session, "create_client", hooked_create_client)
        self._carry_context_into_threads()
        from saldo.adapters.clients import reset

        reset()  # the functions' cached clients were created unhooked
        self._active = True
        return self

    def stop(self) -> None:
        self._active = False  # clients created meanwhile keep their hooks; they record nothing more
        while self._restore:
            owner, name, original = self._restore.pop()
            setattr(owner, name, original)
        from saldo.adapters.clients import reset

        reset()

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        self._restore.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, replacement)

    def _carry_context_into_threads(self) -> None:
        """Threads a handler starts (s3transfer's pool, the SAF-T feeder) act for its function."""
        submit = ThreadPoolExecutor.submit
        start = threading.Thread.start

        def submit_in_context(pool: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            # every task runs in its submitter's context, never in the one its worker thread was born in
            return submit(pool, contextvars.copy_context().run, fn, *args, **kwargs)

        def start_in_context(thread: threading.Thread) -> None:
            # A state machine's execution acts with its own role, not the function that started it.
            target = getattr(thread, "_target", None)
            of_state_machine = getattr(target, "__module__", "").startswith("moto.stepfunctions")
            if current_function.get() is not None and not of_state_machine:
                ctx, run = contextvars.copy_context(), thread.run
                thread.run = lambda: ctx.run(run)  # type: ignore[method-assign]
            start(thread)

        self._patch(ThreadPoolExecutor, "submit", submit_in_context)
        self._patch(threading.Thread, "start", start_in_context)

    def hook(self, client: Any) -> None:
        service = client.meta.service_model.signing_name or client.meta.service_model.endpoint_prefix
        region = client.meta.region_name

        def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            function = current_function.get()
            if not self._active or function is None or _is_local_stack_client(client):
                return
            call = Call(
                function,
                service,
                model.name,
                _plain_copy(params),
                region,
                presigned=bool(context.get("is_presign_request")),
            )
            context["saldo_iam_call"] = call
            with self._lock:
                self.calls.append(call)

        def after(http_response: Any, context: dict[str, Any], **_: Any) -> None:
            call = context.get("saldo_iam_call")
            if call is not None:
                call.status = int(http_response.status_code)

        client.meta.events.register("before-parameter-build", before)
        client.meta.events.register("after-call", after)


def _is_local_stack_client(client: Any) -> bool:
    """The local stack's own clients (pollers, deliveries to targets) act for AWS, not for a function."""
    from saldo_tools.localstack import stack

    return any(client is c for c in stack._clients.values())


def _plain_copy(params: dict[str, Any]) -> dict[str, Any]:
    """The call's parameters without bodies (file objects and bytes are not needed to authorize)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("Body", "Fileobj"):
            continue
        out[key] = value
    return out


# ---------------------------------------------------------------- calls -> IAM requests


@dataclass(frozen=True)
class Request:
    """What IAM authorizes: an action on a resource, with the request's condition keys."""

    action: str
    resource: str
    leading_keys: tuple[str, ...] | None = None  # dynamodb:LeadingKeys; None where the key is absent

    def __str__(self) -> str:
        keys = f" (dynamodb:LeadingKeys {list(self.leading_keys)})" if self.leading_keys else ""
        return f"{self.action} on {self.resource}{keys}"


class UnmappedCall(Exception):
    """The recorder does not know what IAM authorizes for this call: teach `requests_for`."""


# S3 operations and the IAM action that authorizes each (docs: "Actions, resources, and condition keys
# for Amazon S3"). Object-level operations act on `bucket/key`, bucket-level ones on the bucket.
S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "DeleteObject": "s3:DeleteObject",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
    "DeleteObjectTagging": "s3:DeleteObjectTagging",
    "PutObjectAcl": "s3:PutObjectAcl",
    "GetObjectAcl": "s3:GetObjectAcl",
}
S3_BUCKET_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
}
DDB_ITEM_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")
DDB_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def requests_for(call: Call, hash_keys: dict[tuple[str, str | None], str]) -> list[Request]:
    """The IAM requests one call makes. `hash_keys` names the partition key attribute of each
    (table, index) so that `dynamodb:LeadingKeys` can be filled in."""
    mapper = {
        "dynamodb": _dynamodb,
        "s3": _s3,
        "sqs": _sqs,
        "events": _events,
        "ses": _ses,
        "scheduler": _scheduler,
        "states": _states,
    }.get(call.service)
    if mapper is None:
        raise UnmappedCall(f"{call}: no mapping for the {call.service} service")
    return mapper(call, hash_keys)


def _table_arn(call: Call, table: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{call.region}:{ACCOUNT_ID}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _scalar(value: dict[str, Any]) -> str:
    ((_, raw),) = value.items()
    return str(raw)


def _dynamodb(call: Call, hash_keys: dict[tuple[str, str | None], str]) -> list[Request]:
    p, op = call.params, call.operation
    if op in DDB_ITEM_ACTIONS:
        table = p["TableName"]
        item = p.get("Key") or p.get("Item") or {}
        return [
            Request(f"dynamodb:{op}", _table_arn(call, table), (_scalar(item[hash_keys[(table, None)]]),))
        ]
    if op in ("TransactWriteItems", "TransactGetItems"):
        # no transact action of its own: each element is authorized as the single-item action
        out = []
        for element in p["TransactItems"]:
            ((kind, spec),) = element.items()
            table = spec["TableName"]
            item = spec.get("Key") or spec.get("Item") or {}
            key = (_scalar(item[hash_keys[(table, None)]]),)
            out.append(Request(f"dynamodb:{DDB_TRANSACT[kind]}", _table_arn(call, table), key))
        return out
    if op in ("BatchGetItem", "BatchWriteItem"):
        out = []
        for table, spec in p["RequestItems"].items():
            items = (
                spec["Keys"]
                if op == "BatchGetItem"
                else [(w.get("PutRequest") or {}).get("Item") or w["DeleteRequest"]["Key"] for w in spec]
            )
            keys = tuple(sorted({_scalar(i[hash_keys[(table, None)]]) for i in items}))
            out.append(Request(f"dynamodb:{op}", _table_arn(call, table), keys))
        return out
    if op == "Query":
        table, index = p["TableName"], p.get("IndexName")
        return [
            Request(
                "dynamodb:Query",
                _table_arn(call, table, index),
                _query_leading_key(p, hash_keys[(table, index)]),
            )
        ]
    if op == "Scan":
        return [Request("dynamodb:Scan", _table_arn(call, p["TableName"], p.get("IndexName")))]
    if "TableName" in p:
        return [Request(f"dynamodb:{op}", _table_arn(call, p["TableName"]))]
    raise UnmappedCall(f"{call}: no mapping")


def _query_leading_key(params: dict[str, Any], hash_key: str) -> tuple[str, ...]:
    names = params.get("ExpressionAttributeNames") or {}
    for name, placeholder in re.findall(r"(#?[\w]+)\s*=\s*(:[\w]+)", params["KeyConditionExpression"]):
        if names.get(name, name) == hash_key:
            return (_scalar(params["ExpressionAttributeValues"][placeholder]),)
    raise UnmappedCall(f"query without an equality on {hash_key}: {params['KeyConditionExpression']}")


def _s3(call: Call, hash_keys: Any) -> list[Request]:
    p, op = call.params, call.operation
    bucket = f"arn:aws:s3:::{p['Bucket']}"
    if op in S3_OBJECT_ACTIONS:
        out = [Request(S3_OBJECT_ACTIONS[op], f"{bucket}/{p['Key']}")]
        if op in ("PutObject", "CreateMultipartUpload"):
            if p.get("Tagging"):
                out.append(Request("s3:PutObjectTagging", f"{bucket}/{p['Key']}"))
            if p.get("ACL"):
                out.append(Request("s3:PutObjectAcl", f"{bucket}/{p['Key']}"))
        if op in ("GetObject", "HeadObject") and call.status == 404:
            # S3 answers 404 for a missing key only to a caller that may list the bucket; others get 403
            out.append(Request("s3:ListBucket", bucket))
        return out
    if op == "DeleteObjects":
        return [Request("s3:DeleteObject", f"{bucket}/{o['Key']}") for o in p["Delete"]["Objects"]]
    if op == "CopyObject":
        source = p["CopySource"]
        source = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else source.lstrip("/")
        return [
            Request("s3:PutObject", f"{bucket}/{p['Key']}"),
            Request("s3:GetObject", f"arn:aws:s3:::{source}"),
        ]
    if op in S3_BUCKET_ACTIONS:
        return [Request(S3_BUCKET_ACTIONS[op], bucket)]
    raise UnmappedCall(f"{call}: no mapping for this S3 operation")


def _queue_arn(call: Call, url: str) -> str:
    account, name = urlparse(url).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{call.region}:{account}:{name}"


def _sqs(call: Call, hash_keys: Any) -> list[Request]:
    p, op = call.params, call.operation
    action = "sqs:SendMessage" if op == "SendMessageBatch" else f"sqs:{op}"  # a batch is authorized as sends
    if op == "GetQueueUrl":
        return [Request(action, f"arn:aws:sqs:{call.region}:{ACCOUNT_ID}:{p['QueueName']}")]
    if "QueueUrl" in p:
        return [Request(action, _queue_arn(call, p["QueueUrl"]))]
    raise UnmappedCall(f"{call}: no mapping")


def _bus_arn(call: Call, name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:events:{call.region}:{ACCOUNT_ID}:event-bus/{name}"


def _events(call: Call, hash_keys: Any) -> list[Request]:
    p, op = call.params, call.operation
    if op == "PutEvents":
        buses = sorted({e.get("EventBusName") or "default" for e in p["Entries"]})
        return [Request("events:PutEvents", _bus_arn(call, b)) for b in buses]
    if op == "DescribeEventBus":
        return [Request("events:DescribeEventBus", _bus_arn(call, p.get("Name") or "default"))]
    raise UnmappedCall(f"{call}: no mapping")


def _ses(call: Call, hash_keys: Any) -> list[Request]:
    p, op = call.params, call.operation
    if op in ("SendEmail", "SendRawEmail"):
        # authorized on the sending identity (SES v1: Source; SES v2: FromEmailAddress)
        sender = p.get("Source") or p.get("FromEmailAddress") or ""
        address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
        return [Request(f"ses:{op}", f"arn:aws:ses:{call.region}:{ACCOUNT_ID}:identity/{address}")]
    raise UnmappedCall(f"{call}: no mapping")


def _scheduler(call: Call, hash_keys: Any) -> list[Request]:
    p, op = call.params, call.operation
    if op == "CreateSchedule":
        group = p.get("GroupName") or "default"
        arn = f"arn:aws:scheduler:{call.region}:{ACCOUNT_ID}:schedule/{group}/{p['Name']}"
        # the schedule's role is passed to the scheduler: the caller needs iam:PassRole on it
        return [Request("scheduler:CreateSchedule", arn), Request("iam:PassRole", p["Target"]["RoleArn"])]
    raise UnmappedCall(f"{call}: no mapping")


def _states(call: Call, hash_keys: Any) -> list[Request]:
    p, op = call.params, call.operation
    if op == "StartExecution":
        return [Request("states:StartExecution", p["stateMachineArn"])]
    if op in ("DescribeExecution", "StopExecution"):
        return [Request(f"states:{op}", p["executionArn"])]
    raise UnmappedCall(f"{call}: no mapping")


# ---------------------------------------------------------------- policies


@dataclass
class Statement:
    effect: str
    actions: list[str]
    resources: list[str]
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""  # the policy it came from, for messages

    @classmethod
    def parse(cls, raw: dict[str, Any], source: str = "") -> Statement:
        unsupported = set(raw) - {"Sid", "Effect", "Action", "Resource", "Condition"}
        if unsupported:
            raise ValueError(f"{source}: the evaluator does not support {sorted(unsupported)}")
        return cls(
            raw["Effect"],
            _as_list(raw["Action"]),
            _as_list(raw["Resource"]),
            raw.get("Condition") or {},
            source,
        )

    def matches(self, request: Request) -> bool:
        return (
            any(_glob(request.action.lower(), a.lower()) for a in self.actions)
            and any(_glob(request.resource, r) for r in self.resources)
            and all(_condition(op, values, request) for op, values in self.condition.items())
        )


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _glob(text: str, pattern: str) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one; nothing else is special."""
    return fnmatch.fnmatchcase(text, pattern.replace("[", "[[]"))


def _condition(operator: str, values: dict[str, Any], request: Request) -> bool:
    qualifier, _, op = operator.rpartition(":")
    tests = {"StringLike": _glob, "StringEquals": str.__eq__}
    negated = op.startswith("StringNot")
    base = op.replace("Not", "", 1) if negated else op
    if base not in tests or qualifier not in ("ForAllValues", "ForAnyValue"):
        raise ValueError(f"the evaluator does not support the condition operator {operator}")
    for key, wanted in values.items():
        if key.lower() != "dynamodb:leadingkeys":
            raise ValueError(f"the evaluator does not support the condition key {key}")
        patterns = _as_list(wanted)
        present = list(request.leading_keys or ())

        def one(value: str, patterns: list[str] = patterns) -> bool:
            hit = any(tests[base](value, p) for p in patterns)
            return not hit if negated else hit

        ok = all(one(v) for v in present) if qualifier == "ForAllValues" else any(one(v) for v in present)
        if not ok:
            return False
    return True


# What SAM attaches by itself (logging, tracing, the SQS event source's polling). Nothing in the code
# calls these services; the statements are here so that the evaluation is complete.
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        },
    ],
}


@dataclass
class Policy:
    """A role's statements: inline ones (from the template) and those of its AWS-managed policies."""

    statements: list[Statement]
    managed: list[Statement] = field(default_factory=list)

    def decide(self, request: Request) -> str:
        """ "Deny" (explicit), "Allow", or "ImplicitDeny" (no statement allows it)."""
        every = self.statements + self.managed
        if any(s.effect == "Deny" and s.matches(request) for s in every):
            return "Deny"
        if any(s.effect == "Allow" and s.matches(request) for s in every):
            return "Allow"
        return "ImplicitDeny"

    def grants(self) -> Iterator[tuple[str, str, Statement]]:
        """Every (action, resource) an inline Allow statement names."""
        for s in self.statements:
            if s.effect == "Allow":
                for action in s.actions:
                    for resource in s.resources:
                        yield action, resource, s


def function_policies(translated: dict[str, Any], resolver: Resolver) -> dict[str, Policy]:
    """Each function's role policy from a SAM-translated template, intrinsics resolved by `resolver`."""
    resources = translated["Resources"]
    out: dict[str, Policy] = {}
    for logical, res in resources.items():
        if res["Type"] != "AWS::Lambda::Function":
            continue
        role_ref = res["Properties"]["Role"]
        role = resources[role_ref["Fn::GetAtt"][0]]["Properties"]
        statements = []
        for policy in role.get("Policies", []):
            name = policy["PolicyName"]
            for raw in _as_statements(resolver.resolve(policy["PolicyDocument"])):
                statements.append(Statement.parse(raw, f"{logical}/{name}"))
        managed = []
        for arn in role.get("ManagedPolicyArns", []):
            arn = resolver.resolve(arn)
            if arn not in MANAGED_POLICIES:
                raise ValueError(f"{logical}: the evaluator does not know the managed policy {arn}")
            managed += [Statement.parse(raw, arn) for raw in MANAGED_POLICIES[arn]]
        out[logical] = Policy(statements, managed)
    return out


def _as_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statement = document["Statement"]
    return statement if isinstance(statement, list) else [statement]


# ---------------------------------------------------------------- translation

_TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

template = yaml_parse(open(sys.argv[1]).read())
for res in template.get("Resources", {}).values():
    props = res.get("Properties") or {}
    for key in ("CodeUri", "ContentUri", "DefinitionUri"):
        if isinstance(props.get(key), str):
            props[key] = "s3://bucket/key"  # the translator wants packaged code; only the roles matter here

class NoManagedPolicyNames:
    def load(self):
        return {}

params = {"AWS::Region": sys.argv[2], "AWS::Partition": "aws", "AWS::AccountId": sys.argv[3]}
json.dump(transform(template, params, NoManagedPolicyNames()), sys.stdout)
"""


def sam_python(root: Path) -> str | None:
    """An interpreter with aws-sam-translator: this one, $SALDO_SAM_PYTHON, or the SAM virtualenv.

    The translator pins its own pydantic, which conflicts with the layer's, so it lives with the SAM CLI
    in .venv-sam (`make install` creates it)."""
    with contextlib.suppress(ImportError):
        import samtranslator  # noqa: F401

        return sys.executable
    for candidate in (os.environ.get("SALDO_SAM_PYTHON"), str(root / ".venv-sam" / "bin" / "python")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def translate(template: Path, python: str, region: str) -> dict[str, Any]:
    """The template as CloudFormation receives it after the SAM transform."""
    env = {**os.environ, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    out = subprocess.run(
        [python, "-c", _TRANSLATE, str(template), region, ACCOUNT_ID],
        capture_output=True,
        check=False,
        env=env,
        timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the SAM translation failed:\n{out.stderr.decode()[-4000:]}")
    return dict(json.loads(out.stdout))
