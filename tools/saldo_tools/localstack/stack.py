"""The local stack: moto plus the template's resources, functions, event sources and schedules."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import socket
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saldo_tools.localstack.functions import FunctionRuntime, FunctionSpec, LambdaError
from saldo_tools.localstack.httpapi import Authorizer, HttpApi, LocalResponse, Route
from saldo_tools.localstack.schedules import Recurring, at_time
from saldo_tools.localstack.template import ACCOUNT_ID, Resolver, load_template, parameter_defaults

LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/saldo-local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SqsSource:
    def __init__(
        self, function: str, queue_url: str, queue_arn: str, batch_size: int, partial_failures: bool
    ) -> None:
        self.function = function
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.partial_failures = partial_failures


class LocalStack:
    """Create with the project root; `start()` brings it up, `stop()` tears it down.

    `server=False` runs moto in-process (`mock_aws`, for tests); `server=True` also starts moto's HTTP
    server, so presigned URLs and outside clients reach the local stack.
    """

    def __init__(
        self,
        root: str | Path = ".",
        template: str = "template.yaml",
        *,
        server: bool = False,
        moto_port: int = 0,
        region: str = "eu-north-1",
        parameters: dict[str, str] | None = None,
        sqs_retry_delay: int = 1,
        tick: float = 0.25,
    ) -> None:
        self.root = Path(root).resolve()
        self.template_path = self.root / template
        self.template = load_template(self.template_path)
        self.server = server
        self.moto_port = moto_port
        self.region = region
        self.resolver = Resolver(
            region, parameter_defaults(self.template, {"Stage": "local", **(parameters or {})})
        )
        self.runtime = FunctionRuntime(region)
        self.http = HttpApi(self.runtime, region)
        self.sqs_sources: list[SqsSource] = []
        self.recurring: list[tuple[Recurring, str, dict[str, Any]]] = []
        self.sqs_retry_delay = sqs_retry_delay
        self.tick = tick
        self.state_machines: dict[str, str] = {}
        self._pending_routes: list[tuple[str, str, str, str | None]] = []
        self._fired_schedules: set[str] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="saldo-async")
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._mock: Any = None
        self._moto_server: Any = None
        self._http_server: Any = None
        self.api_url = ""
        self.moto_url = ""
        self.http.local_routes["/local/outbox"] = self._outbox_route

    # ------------------------------------------------------------------ lifecycle
    def start(self, api_port: int | None = None) -> LocalStack:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = self.region
        os.environ["SALDO_LOCAL"] = "1"
        from moto.core.config import default_user_config

        if self.server:
            from moto.server import ThreadedMotoServer

            self.moto_port = self.moto_port or free_port()
            os.environ["MOTO_PORT"] = str(self.moto_port)  # Step Functions tasks call back on this port
            self.moto_url = f"http://127.0.0.1:{self.moto_port}"
            os.environ["AWS_ENDPOINT_URL"] = self.moto_url
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            self._moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
            self._moto_server.start()
            default_user_config["lambda"]["use_docker"] = False
            default_user_config["stepfunctions"]["execute_state_machine"] = True
        else:
            from moto import mock_aws

            self._mock = mock_aws(
                config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
            )
            self._mock.start()
        self.runtime.install_moto_bridge()
        self._install_events_bridge()
        from saldo.adapters.clients import reset

        reset()
        self.provision()
        reset()
        for target in (self._scheduler_loop, *[lambda s=s: self._sqs_loop(s) for s in self.sqs_sources]):
            thread = threading.Thread(target=target, daemon=True, name="saldo-local-loop")
            thread.start()
            self._threads.append(thread)
        if api_port is not None:
            self._http_server = self.http.serve("127.0.0.1", api_port)
            self.api_url = f"http://127.0.0.1:{self._http_server.server_address[1]}"
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._http_server:
            self._http_server.shutdown()
        if self._moto_server:
            self._moto_server.stop()
        if self._mock:
            self._mock.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ clients
    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=self.region, endpoint_url=self.moto_url or None)

    # ------------------------------------------------------------------ provisioning
    def provision(self) -> None:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        by_type: dict[str, list[str]] = {}
        for logical, res in resources.items():
            by_type.setdefault(res["Type"], []).append(logical)
        self.client("iam").create_role(RoleName="saldo-local", AssumeRolePolicyDocument="{}")
        order = [
            ("AWS::Serverless::LayerVersion", self._layer),
            ("AWS::DynamoDB::Table", self._table),
            ("AWS::S3::Bucket", self._bucket),
            ("AWS::SQS::Queue", self._queue),
            ("AWS::Events::EventBus", self._event_bus),
            ("AWS::Scheduler::ScheduleGroup", self._schedule_group),
            ("AWS::IAM::Role", self._role),
            ("AWS::Serverless::HttpApi", lambda lid, res: self.resolver.refs.__setitem__(lid, "local")),
            ("AWS::Serverless::Function", self._function),
            ("AWS::Serverless::StateMachine", self._state_machine),
        ]
        handled = {t for t, _ in order}
        unknown = set(by_type) - handled
        if unknown:
            raise ValueError(f"the local stack cannot create resource types {sorted(unknown)}")
        for rtype, create in order:
            logicals = by_type.get(rtype, [])
            if rtype == "AWS::SQS::Queue":  # dead-letter queues first
                logicals = sorted(
                    logicals, key=lambda lid: "RedrivePolicy" in resources[lid].get("Properties", {})
                )
            for logical in logicals:
                create(logical, resources[logical])
        for logical in by_type.get("AWS::Serverless::Function", []):
            self._function_events(logical, resources[logical])
        for logical in by_type.get("AWS::Serverless::HttpApi", []):
            self._http_api(logical, resources[logical])
        self._verify_sender()

    def _props(self, res: dict[str, Any]) -> dict[str, Any]:
        return self.resolver.resolve(res.get("Properties", {}))

    def _layer(self, logical: str, res: dict[str, Any]) -> None:
        self.resolver.refs[logical] = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:layer:{logical}:1"

    def _role(self, logical: str, res: dict[str, Any]) -> None:
        name = res.get("Properties", {}).get("RoleName") or f"saldo-local-{logical}"
        arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = arn

    def _table(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        args: dict[str, Any] = {
            "TableName": p["TableName"],
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if p.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
        ddb = self.client("dynamodb")
        desc = ddb.create_table(**args)["TableDescription"]
        ttl = p.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=p["TableName"], TimeToLiveSpecification=ttl)
        self.resolver.refs[logical] = p["TableName"]
        self.resolver.attrs[(logical, "Arn")] = desc["TableArn"]

    def _bucket(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        name = p.get("BucketName") or f"saldo-local-{logical.lower()}"
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
            )
        if "LifecycleConfiguration" in p:
            rules = []
            for rule in p["LifecycleConfiguration"]["Rules"]:
                out: dict[str, Any] = {
                    "ID": rule["Id"],
                    "Status": rule["Status"],
                    "Filter": {"Prefix": rule.get("Prefix", "")},
                }
                if "ExpirationInDays" in rule:
                    out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
                if "AbortIncompleteMultipartUpload" in rule:
                    days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
                    out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
                rules.append(out)
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name}"

    def _queue(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        name = p.get("QueueName") or f"saldo-local-{logical}"
        attrs: dict[str, str] = {}
        for key in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
        ):
            if key in p:
                attrs[key] = str(p[key])
        if "RedrivePolicy" in p:
            rp = p["RedrivePolicy"]
            attrs["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": rp["deadLetterTargetArn"],
                    "maxReceiveCount": int(rp["maxReceiveCount"]),
                }
            )
        if p.get("FifoQueue"):
            attrs["FifoQueue"] = "true"
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.resolver.refs[logical] = url
        self.resolver.attrs[(logical, "Arn")] = arn
        self.resolver.attrs[(logical, "QueueName")] = name
        self.resolver.attrs[(logical, "QueueUrl")] = url

    def _event_bus(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        arn = self.client("events").create_event_bus(Name=p["Name"])["EventBusArn"]
        self.resolver.refs[logical] = p["Name"]
        self.resolver.attrs[(logical, "Arn")] = arn
        self.resolver.attrs[(logical, "Name")] = p["Name"]

    def _schedule_group(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        arn = self.client("scheduler").create_schedule_group(Name=p["Name"])["ScheduleGroupArn"]
        self.resolver.refs[logical] = p["Name"]
        self.resolver.attrs[(logical, "Arn")] = arn

    def _function_props(self, res: dict[str, Any]) -> dict[str, Any]:
        glob = self.template.get("Globals", {}).get("Function", {})
        props = dict(res.get("Properties", {}))
        env = dict(glob.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        merged = {**glob, **props, "Environment": {"Variables": env}}
        return merged

    def _function(self, logical: str, res: dict[str, Any]) -> None:
        raw = self._function_props(res)
        props = self.resolver.resolve(
            {k: v for k, v in raw.items() if k not in ("Events", "Layers", "Policies")}
        )
        name = props.get("FunctionName") or f"saldo-local-{logical}"
        spec = FunctionSpec(
            logical_id=logical,
            name=name,
            handler=props["Handler"],
            code_dir=self.root / props["CodeUri"],
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            environment={k: str(v) for k, v in props["Environment"]["Variables"].items()},
            events=raw.get("Events", {}),
        )
        self.runtime.add(spec)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("placeholder.py", "# handlers run in-process\n")
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.11"),
            Role=LAMBDA_ROLE,
            Handler=props["Handler"],
            Code={"ZipFile": buf.getvalue()},
            Timeout=spec.timeout,
            MemorySize=spec.memory,
            Environment={"Variables": spec.environment},
        )
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = spec.arn(self.region)

    def _function_events(self, logical: str, res: dict[str, Any]) -> None:
        spec = self.runtime.specs[logical]
        for event_name, event in spec.events.items():
            etype, p = event["Type"], self.resolver.resolve(event.get("Properties", {}))
            if etype == "HttpApi":
                auth = (event.get("Properties", {}).get("Auth") or {}).get("Authorizer")
                self._pending_routes.append((p["Method"].upper(), p["Path"], logical, auth))
            elif etype == "SQS":
                queue_arn = p["Queue"]
                queue_name = queue_arn.rsplit(":", 1)[-1]
                url = self.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
                partial = "ReportBatchItemFailures" in p.get("FunctionResponseTypes", [])
                self.sqs_sources.append(
                    SqsSource(logical, url, queue_arn, int(p.get("BatchSize", 10)), partial)
                )
            elif etype in ("Schedule", "ScheduleV2"):
                payload = json.loads(p["Input"]) if p.get("Input") else None
                self.recurring.append(
                    (
                        Recurring(p.get("Schedule") or p["ScheduleExpression"], self._now()),
                        logical,
                        payload or {},
                    )
                )
            elif etype in ("EventBridgeRule", "CloudWatchEvent"):
                events = self.client("events")
                bus = p.get("EventBusName", "default")
                rule = f"{logical}-{event_name}"
                events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(p["Pattern"]))
                events.put_targets(
                    Rule=rule, EventBusName=bus, Targets=[{"Id": logical, "Arn": spec.arn(self.region)}]
                )
            else:
                raise ValueError(f"{logical}: the local stack does not run {etype} events")

    def _state_machine(self, logical: str, res: dict[str, Any]) -> None:
        p = res.get("Properties", {})
        subs = {k: str(v) for k, v in self.resolver.resolve(p.get("DefinitionSubstitutions", {})).items()}
        if "DefinitionUri" in p:
            text = (self.root / p["DefinitionUri"]).read_text()
        else:
            text = json.dumps(p["Definition"])
        for key, value in subs.items():
            text = text.replace("${" + key + "}", value)
        name = self.resolver.resolve(p.get("Name")) or f"saldo-local-{logical}"
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=LAMBDA_ROLE, type=p.get("Type", "STANDARD")
        )["stateMachineArn"]
        self.state_machines[logical] = arn
        self.resolver.refs[logical] = arn
        self.resolver.attrs[(logical, "Arn")] = arn
        self.resolver.attrs[(logical, "Name")] = name

    def _http_api(self, logical: str, res: dict[str, Any]) -> None:
        p = res.get("Properties", {})
        auth = p.get("Auth", {})
        for name, spec in auth.get("Authorizers", {}).items():
            fn_ref = spec["FunctionArn"]
            fn_logical = fn_ref["Fn::GetAtt"][0] if isinstance(fn_ref, dict) else fn_ref
            identity = spec.get("Identity", {})
            self.http.authorizers[name] = Authorizer(
                name, fn_logical, identity.get("Headers", []), int(identity.get("ReauthorizeEvery", 0))
            )
        default = auth.get("DefaultAuthorizer")
        for method, path, fn_logical, route_auth in self._pending_routes:
            authorizer = None if route_auth == "NONE" else (route_auth or default)
            self.http.routes.append(Route(method, path, fn_logical, authorizer))

    def _verify_sender(self) -> None:
        sender = self.resolver.parameters.get("SenderEmail")
        if sender:
            self.client("ses").verify_email_identity(EmailAddress=sender)
            self.client("ses").verify_domain_identity(Domain=sender.split("@")[-1])

    def env(self) -> dict[str, str]:
        """The environment the functions see (resource names resolved)."""
        merged: dict[str, str] = {}
        for spec in self.runtime.specs.values():
            merged.update(spec.environment)
        return merged

    # ------------------------------------------------------------------ event sources
    def _busy(self, delta: int) -> None:
        with self._inflight_lock:
            self._inflight += delta

    def _sqs_loop(self, source: SqsSource) -> None:
        sqs = self.client("sqs")
        while not self._stop.is_set():
            try:
                self.poll_queue(source, sqs, wait=1)
            except Exception as exc:  # keep polling; a local-stack hiccup must not stop the worker
                print(f"[local] SQS poll error on {source.function}: {exc}", flush=True)
                time.sleep(0.5)

    def poll_queue(self, source: SqsSource, sqs: Any = None, wait: int = 0) -> int:
        sqs = sqs or self.client("sqs")
        self._busy(+1)
        try:
            messages = sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(source.batch_size, 10),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return 0
            event = {"Records": [self._sqs_record(m, source) for m in messages]}
            try:
                result = self.runtime.invoke(source.function, event) or {}
                failed = (
                    {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                    if source.partial_failures
                    else set()
                )
            except LambdaError as err:
                print(f"[local] {source.function} failed: {err}", flush=True)
                failed = {m["MessageId"] for m in messages}
            for m in messages:
                if m["MessageId"] in failed:
                    # On AWS a failed message reappears after the visibility timeout; locally after a second.
                    sqs.change_message_visibility(
                        QueueUrl=source.queue_url,
                        ReceiptHandle=m["ReceiptHandle"],
                        VisibilityTimeout=self.sqs_retry_delay,
                    )
                else:
                    sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=m["ReceiptHandle"])
            return len(messages)
        finally:
            self._busy(-1)

    def _sqs_record(self, m: dict[str, Any], source: SqsSource) -> dict[str, Any]:
        return {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": source.queue_arn,
            "awsRegion": self.region,
        }

    def invoke_async(self, function: str, event: dict[str, Any]) -> None:
        self._busy(+1)

        def run() -> None:
            try:
                self.runtime.invoke(function, event)
            except LambdaError as err:
                print(f"[local] async invocation of {function} failed: {err}", flush=True)
            finally:
                self._busy(-1)

        self._pool.submit(run)

    def _install_events_bridge(self) -> None:
        """moto's EventBridge delivers to SQS and logs only; deliver Lambda targets here."""
        from moto.events.models import Rule

        stack = self
        original = getattr(Rule.send_to_targets, "__wrapped_original__", Rule.send_to_targets)

        def send_to_targets(self: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            original(self, event, transform_input)
            if not self.event_pattern.matches_event(event):
                return
            for target in self.targets:
                if ":lambda:" in target["Arn"]:
                    payload = json.loads(target["Input"]) if target.get("Input") else event
                    stack.invoke_async(target["Arn"], payload)

        send_to_targets.__wrapped_original__ = original  # type: ignore[attr-defined]
        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]

    # ------------------------------------------------------------------ schedules
    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def _scheduler_loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.fire_due(self._now())
            except Exception as exc:
                print(f"[local] scheduler error: {exc}", flush=True)

    def fire_due(self, now: datetime) -> int:
        fired = 0
        for recurring, function, payload in self.recurring:
            if recurring.due(now):
                event = payload or {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": ACCOUNT_ID,
                    "time": now.isoformat(),
                    "region": self.region,
                    "resources": [],
                    "detail": {},
                }
                self.invoke_async(function, event)
                fired += 1
        scheduler = self.client("scheduler")
        for group in scheduler.list_schedule_groups().get("ScheduleGroups", []):
            for summary in scheduler.list_schedules(GroupName=group["Name"]).get("Schedules", []):
                key = f"{group['Name']}/{summary['Name']}"
                if key in self._fired_schedules:
                    continue
                schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=group["Name"])
                when = at_time(schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone"))
                if when is None or when > now or schedule.get("State") == "DISABLED":
                    continue
                self._fired_schedules.add(key)
                self._fire_target(schedule["Target"])
                fired += 1
                if schedule.get("ActionAfterCompletion") == "DELETE":
                    scheduler.delete_schedule(Name=summary["Name"], GroupName=group["Name"])
        return fired

    def _fire_target(self, target: dict[str, Any]) -> None:
        arn, payload = target["Arn"], target.get("Input") or "{}"
        if ":lambda:" in arn:
            self.invoke_async(arn, json.loads(payload))
        elif ":states:" in arn:
            self.client("stepfunctions").start_execution(
                stateMachineArn=arn, name=str(uuid.uuid4()), input=payload
            )
        elif ":sqs:" in arn:
            name = arn.rsplit(":", 1)[-1]
            url = self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
            self.client("sqs").send_message(QueueUrl=url, MessageBody=payload)
        else:
            raise ValueError(f"unsupported schedule target {arn}")

    # ------------------------------------------------------------------ inspection
    def outbox(self) -> list[dict[str, Any]]:
        from moto.ses.models import ses_backends

        out = []
        for m in ses_backends[ACCOUNT_ID][self.region].sent_messages:
            if hasattr(m, "raw_data"):
                out.append(
                    {"id": m.id, "source": m.source, "destinations": m.destinations, "raw": m.raw_data}
                )
            else:
                out.append(
                    {
                        "id": m.id,
                        "source": m.source,
                        "destinations": m.destinations,
                        "subject": m.subject,
                        "body": m.body,
                    }
                )
        return out

    def _outbox_route(self, path: str, query: dict[str, str]) -> LocalResponse:
        body = json.dumps({"messages": self.outbox()}, default=str).encode()
        return LocalResponse(200, {"content-type": "application/json"}, body)

    def idle(self) -> bool:
        with self._inflight_lock:
            return self._inflight == 0

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until no async work is running and every event-source queue is empty."""
        deadline = time.monotonic() + timeout
        sqs = self.client("sqs")
        while time.monotonic() < deadline:
            visible = 0
            for source in self.sqs_sources:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=source.queue_url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                visible += int(attrs["ApproximateNumberOfMessages"]) + int(
                    attrs["ApproximateNumberOfMessagesNotVisible"]
                )
            if visible == 0 and self.idle():
                return
            time.sleep(0.1)
        raise TimeoutError("local stack did not drain in time")
