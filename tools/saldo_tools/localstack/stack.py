"""The local stack: moto plus the template's resources, functions, event sources and schedules.

Everything is created from the template by logical id, in dependency order (as CloudFormation would);
there is no second list of resources to keep in step. moto keeps the state (queues, rules, schedules);
this module adds what moto does not do itself: run the handlers, poll the SQS event sources, deliver
EventBridge events to Lambda and Step Functions targets, and fire due rules and schedules.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from saldo_tools.localstack import environments
from saldo_tools.localstack.functions import FunctionRuntime, FunctionSpec, LambdaError, log
from saldo_tools.localstack.hooks import Patcher
from saldo_tools.localstack.httpapi import DEFAULT_STAGE, Authorizer, Cors, HttpApi, LocalResponse, Route
from saldo_tools.localstack.schedules import Recurring
from saldo_tools.localstack.template import (
    ACCOUNT_ID,
    Resolver,
    load_template,
    parameter_defaults,
    references,
)

LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/saldo-local"

# Types with no behaviour to reproduce locally: accepted (their Ref and Arn resolve), nothing is created.
PASSIVE_TYPES = frozenset(
    {
        "AWS::Lambda::Permission",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Alarm",
    }
)
SERVERLESS_WITH_EVENTS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")

_active_lock = threading.Lock()
_active: LocalStack | None = None


_clients: dict[tuple[str, str, str | None], Any] = {}
_clients_lock = threading.Lock()


def _client(service: str, region: str, endpoint: str | None) -> Any:
    """boto3 clients are thread-safe and slow to create (~20 ms), so they are shared across stacks:
    moto's in-process mock intercepts every client created after moto was imported."""
    key = (service, region, endpoint)
    with _clients_lock:
        if key not in _clients:
            import boto3

            _clients[key] = boto3.client(service, region_name=region, endpoint_url=endpoint)
        return _clients[key]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log(message: str) -> None:
    log.warning(message)


@dataclass
class SqsSource:
    """An SQS event source mapping: the queue is polled and batches go to the function."""

    function: str
    queue_url: str
    queue_arn: str
    batch_size: int
    partial_failures: bool
    wake: threading.Event = field(default_factory=threading.Event, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation S3 lifecycle rule in the shape of the S3 API."""
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in rule.get("TagFilters") or []]
    prefix = rule.get("Prefix")
    if tags and (prefix is not None or len(tags) > 1):
        rule_filter: dict[str, Any] = {"And": {"Prefix": prefix or "", "Tags": tags}}
    elif tags:
        rule_filter = {"Tag": tags[0]}
    else:
        rule_filter = {"Prefix": prefix or ""}
    out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": rule_filter}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    elif "ExpirationDate" in rule:
        out["Expiration"] = {"Date": rule["ExpirationDate"]}
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return out


class LocalStack:
    """Create with the project root; `start()` brings it up, `stop()` tears it down.

    `server=False` runs moto in-process (`mock_aws`, for tests); `server=True` runs moto's HTTP server in
    this process, so presigned URLs and outside clients reach the local stack. Only one stack can run in
    a process at a time: moto's state is global.

    `sqs_retry_delay` is how soon a failed SQS message is visible again (AWS: the visibility timeout);
    `tick` is how often due schedules are checked; `sqs_idle_wait` bounds the wait of an idle SQS poller
    (a sent message wakes it at once).
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
        sqs_idle_wait: float = 0.5,
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
        self.state_machines: dict[str, str] = {}
        self.async_errors: list[dict[str, Any]] = []
        self.sqs_retry_delay = sqs_retry_delay
        self.tick = tick
        self.sqs_idle_wait = sqs_idle_wait
        self.endpoint_url = ""  # the served HTTP API's root (ApiEndpoint): local routes like /local/outbox
        self.api_url = ""  # its stage's base URL, as the template's ApiUrl output: endpoint_url + "/<stage>"
        self.moto_url = ""
        self.http.local_routes["/local/outbox"] = self._outbox_route
        self._routes: list[tuple[str, str, str, str | None, str]] = []  # method, path, fn, auth, api
        self._rule_clocks: dict[tuple[str, str], Recurring] = {}
        self._schedule_clocks: dict[tuple[str, str, str], Recurring] = {}
        self._fire_lock = threading.Lock()
        self._hold = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._patcher = Patcher()
        self._saved_env: dict[str, str | None] = {}
        self._saved_moto_config: dict[str, dict[str, Any]] = {}
        self._mock: Any = None
        self._moto_server: Any = None
        self._moto_thread: threading.Thread | None = None
        self._http_server: Any = None
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def start(self, api_port: int | None = None) -> LocalStack:
        """Bring the stack up; with `api_port` (0 picks a free port) serve the HTTP API on 127.0.0.1."""
        global _active
        with _active_lock:
            if _active is not None:
                raise RuntimeError("a LocalStack is already running in this process; stop it first")
            _active = self
        self._started = True
        try:
            self._start(api_port)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, api_port: int | None) -> None:
        environments.install()  # each handler thread its own Powertools state, as separate environments
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if not os.environ.get(key):
                self._setenv(key, "testing")
        self._setenv("AWS_DEFAULT_REGION", self.region)
        self._setenv("AWS_REGION", self.region)
        self._setenv("SALDO_LOCAL", "1")
        # EMF metrics are log lines for CloudWatch; locally they would only flood the console.
        self._setenv("POWERTOOLS_METRICS_DISABLED", os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"))
        if self.server:
            self._start_moto_server()
        else:
            from moto import mock_aws

            self._mock = mock_aws(
                config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
            )
            self._mock.start()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="saldo-async")
        self.runtime.install_moto_bridge(self._patcher, self.invoke_async)
        self._install_events_bridge()
        self._install_sqs_wakeup()
        self._install_dynamodb_atomic_writes()
        if api_port is not None:
            self._http_server = self.http.bind("127.0.0.1", api_port)
            self.endpoint_url = f"http://127.0.0.1:{self._http_server.server_address[1]}"
        self._reset_clients()
        self.provision()
        self._reset_clients()
        if self._http_server is not None:
            self.api_url = self.endpoint_url + self.http.base_path
        self._scan_timers()  # template rules and schedules start their clocks now
        for source in self.sqs_sources:
            self._spawn(lambda s=source: self._sqs_loop(s), f"saldo-sqs-{source.function}")
        self._spawn(self._scheduler_loop, "saldo-scheduler")
        if self._http_server is not None:
            self._threads.append(self.http.serve(self._http_server))

    def _start_moto_server(self) -> None:
        from moto.core.base_backend import BackendDict
        from moto.core.config import default_user_config
        from moto.core.model_instances import reset_model_data
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per AWS call
        for key, value in (
            ("lambda", {"use_docker": False}),
            ("stepfunctions", {"execute_state_machine": True}),
        ):
            self._saved_moto_config[key] = dict(default_user_config.get(key, {}))  # type: ignore[call-overload]
            default_user_config.setdefault(key, {}).update(value)  # type: ignore[typeddict-item]
        BackendDict.reset()
        reset_model_data()
        app = DomainDispatcherApplication(create_backend_app)
        self._moto_server = make_server(
            "127.0.0.1", self.moto_port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self.moto_port = int(self._moto_server.server_port)
        self.moto_url = f"http://127.0.0.1:{self.moto_port}"
        # Step Functions tasks call back on MOTO_PORT; handlers' boto3 clients use AWS_ENDPOINT_URL.
        self._setenv("MOTO_PORT", str(self.moto_port))
        self._setenv("AWS_ENDPOINT_URL", self.moto_url)
        self._moto_thread = threading.Thread(
            target=self._moto_server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="saldo-moto",
            daemon=True,
        )
        self._moto_thread.start()

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, daemon=True, name=name)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Tear down: loops, HTTP server, async work, patches, moto; the environment is restored."""
        global _active
        if not self._started:
            return
        self._started = False
        self._stop.set()
        for source in self.sqs_sources:
            source.wake.set()
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._stop_executions()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._patcher.restore()
        if self._moto_server is not None:
            self._moto_server.shutdown()
            self._moto_server.server_close()
            if self._moto_thread is not None:
                self._moto_thread.join(timeout=5)
            from moto.core.base_backend import BackendDict
            from moto.core.config import default_user_config

            for key, value in self._saved_moto_config.items():
                default_user_config[key] = value  # type: ignore[literal-required]
            BackendDict.reset()
        if self._mock is not None:
            self._mock.stop()
        self._restore_env()
        self._reset_clients()
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _setenv(self, key: str, value: str) -> None:
        if key not in self._saved_env:
            self._saved_env[key] = os.environ.get(key)
        if os.environ.get(key) != value:  # never delete while running: threads copy os.environ
            os.environ[key] = value

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    @staticmethod
    def _reset_clients() -> None:
        from saldo.adapters.clients import reset

        reset()

    def _stop_executions(self) -> None:
        if not self.state_machines:
            return
        with contextlib.suppress(Exception):
            sfn = self.client("stepfunctions")
            for arn in self.state_machines.values():
                running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
                for execution in running:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause="local stack stopped")

    # ------------------------------------------------------------------ clients
    def client(self, service: str) -> Any:
        """A boto3 client for the local stack."""
        return _client(service, self.region, self.moto_url or None)

    # ------------------------------------------------------------------ provisioning
    def provision(self) -> None:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        creators = {
            "AWS::Serverless::LayerVersion": self._layer,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::DynamoDB::Table": self._table,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._events_rule,
            "AWS::Scheduler::ScheduleGroup": self._schedule_group,
            "AWS::Scheduler::Schedule": self._scheduler_schedule,
            "AWS::IAM::Role": self._role,
            "AWS::Serverless::HttpApi": self._http_api_ref,
            "AWS::Serverless::Function": self._function,
            "AWS::Serverless::StateMachine": self._state_machine,
        }
        unknown = {r["Type"] for r in resources.values()} - set(creators) - PASSIVE_TYPES
        if unknown:
            raise ValueError(f"the local stack cannot create resource types {sorted(unknown)}")
        conditional = sorted(lid for lid, r in resources.items() if "Condition" in r)
        if conditional:
            raise ValueError(f"the local stack does not evaluate Conditions (on {conditional})")
        self.client("iam").create_role(RoleName="saldo-local", AssumeRolePolicyDocument="{}")
        for logical in self.creation_order():
            res = resources[logical]
            creators.get(res["Type"], self._passive)(logical, res)
        for logical, res in resources.items():  # event sources once every resource exists
            if res["Type"] == "AWS::Serverless::Function":
                self._wire_events(logical, res, self.resolver.attrs[(logical, "Arn")])
            elif res["Type"] == "AWS::Serverless::StateMachine":
                self._wire_events(logical, res, self.state_machines[logical])
        apis = [lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::HttpApi"]
        for logical in apis:
            self._http_api(logical, resources[logical].get("Properties", {}))
        implicit = [r for r in self._routes if r[4] not in apis]
        if implicit:  # routes without ApiId: SAM's implicit API, configured by Globals.HttpApi
            self._http_api("ServerlessHttpApi", self.template.get("Globals", {}).get("HttpApi", {}))
        self._verify_sender()

    def creation_order(self) -> list[str]:
        """Logical ids ordered so every Ref/GetAtt/Sub target exists first (template order otherwise)."""
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        function_globals = {
            k: v
            for k, v in self.template.get("Globals", {}).get("Function", {}).items()
            if k not in ("Events", "Policies")
        }
        deps: dict[str, set[str]] = {}
        for logical, res in resources.items():
            props = res.get("Properties", {})
            if res["Type"] in SERVERLESS_WITH_EVENTS:  # wired after creation; policies have no local effect
                props = {k: v for k, v in props.items() if k not in ("Events", "Policies")}
            names = references(props)
            if res["Type"] == "AWS::Serverless::Function":
                names |= references(function_globals)
            depends_on = res.get("DependsOn", [])
            names |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
            found: set[str] = set()
            for name in names:
                if name in resources:
                    found.add(name)
                elif name.endswith("Role") and name[:-4] in resources:  # SAM's implicit <Function>Role
                    found.add(name[:-4])
            found.discard(logical)
            deps[logical] = found
        order: list[str] = []
        done: set[str] = set()
        while len(order) < len(resources):
            ready = next((lid for lid in resources if lid not in done and deps[lid] <= done), None)
            if ready is None:
                raise ValueError(f"circular references between {sorted(set(resources) - done)}")
            order.append(ready)
            done.add(ready)
        return order

    def _props(self, res: dict[str, Any]) -> dict[str, Any]:
        return self.resolver.resolve(res.get("Properties", {}))

    def _passive(self, logical: str, res: dict[str, Any]) -> None:
        self.resolver.refs[logical] = logical
        self.resolver.attrs[(logical, "Arn")] = f"arn:aws:local:{self.region}:{ACCOUNT_ID}:{logical}"

    def _layer(self, logical: str, res: dict[str, Any]) -> None:
        self.resolver.refs[logical] = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:layer:{logical}:1"

    def _role(self, logical: str, res: dict[str, Any]) -> None:
        name = res.get("Properties", {}).get("RoleName") or f"saldo-local-{logical}"
        self._register_role(logical, name)

    def _register_role(self, logical: str, name: str) -> None:
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
        self.resolver.attrs[(logical, "RoleId")] = f"AROALOCAL{logical.upper()}"[:21]

    def _table(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        name = p.get("TableName") or f"saldo-local-{logical}"
        args: dict[str, Any] = {
            "TableName": name,
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if args["BillingMode"] == "PROVISIONED":
            args["ProvisionedThroughput"] = p["ProvisionedThroughput"]
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
            if p.get(key):
                args[key] = p[key]
        ddb = self.client("dynamodb")
        desc = ddb.create_table(**args)["TableDescription"]
        ttl = p.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = desc["TableArn"]
        if desc.get("LatestStreamArn"):
            self.resolver.attrs[(logical, "StreamArn")] = desc["LatestStreamArn"]

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
            rules = [_lifecycle_rule(rule) for rule in p["LifecycleConfiguration"]["Rules"]]
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        if "CorsConfiguration" in p:
            renames = {
                "Id": "ID",
                "MaxAge": "MaxAgeSeconds",
                "ExposedHeaders": "ExposeHeaders",
                "AllowedHeaders": "AllowedHeaders",
                "AllowedMethods": "AllowedMethods",
                "AllowedOrigins": "AllowedOrigins",
            }
            cors_rules = [
                {renames[k]: v for k, v in rule.items() if k in renames}
                for rule in p["CorsConfiguration"]["CorsRules"]
            ]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors_rules})
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name}"
        self.resolver.attrs[(logical, "DomainName")] = f"{name}.s3.amazonaws.com"
        self.resolver.attrs[(logical, "RegionalDomainName")] = f"{name}.s3.{self.region}.amazonaws.com"

    def _queue(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        name = p.get("QueueName") or f"saldo-local-{logical}{'.fifo' if p.get('FifoQueue') else ''}"
        attrs: dict[str, str] = {}
        for key in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
            "MaximumMessageSize",
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
            if p.get("ContentBasedDeduplication"):
                attrs["ContentBasedDeduplication"] = "true"
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

    def _events_rule(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        name = p.get("Name") or f"saldo-local-{logical}"
        targets = [
            {k: v for k, v in t.items() if k in ("Id", "Arn", "Input", "InputPath", "InputTransformer")}
            for t in p.get("Targets", [])
        ]
        arn = self._put_rule(
            name,
            p.get("EventBusName", "default"),
            pattern=p.get("EventPattern"),
            schedule=p.get("ScheduleExpression"),
            state=p.get("State", "ENABLED"),
            targets=targets,
        )
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = arn

    def _put_rule(
        self,
        name: str,
        bus: str,
        *,
        pattern: Any = None,
        schedule: str | None = None,
        state: str = "ENABLED",
        targets: list[dict[str, Any]],
    ) -> str:
        events = self.client("events")
        args: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": state}
        if pattern is not None:
            args["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if schedule:
            args["ScheduleExpression"] = schedule
        arn = events.put_rule(**args)["RuleArn"]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return str(arn)

    def _schedule_group(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        name = p.get("Name") or f"saldo-local-{logical}"
        arn = self.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = arn

    def _scheduler_schedule(self, logical: str, res: dict[str, Any]) -> None:
        p = self._props(res)
        name = p.get("Name") or f"saldo-local-{logical}"
        arn = self._create_schedule(name, p)
        self.resolver.refs[logical] = name
        self.resolver.attrs[(logical, "Arn")] = arn

    def _create_schedule(self, name: str, p: dict[str, Any], target: dict[str, Any] | None = None) -> str:
        args: dict[str, Any] = {
            "Name": name,
            "ScheduleExpression": p["ScheduleExpression"],
            "FlexibleTimeWindow": p.get("FlexibleTimeWindow") or {"Mode": "OFF"},
            "Target": target or {k: v for k, v in p["Target"].items() if k in ("Arn", "RoleArn", "Input")},
            "State": p.get("State", "ENABLED"),
        }
        args["Target"].setdefault("RoleArn", LAMBDA_ROLE)
        for key in ("GroupName", "ScheduleExpressionTimezone", "Description"):
            if p.get(key):
                args[key] = p[key]
        return str(self.client("scheduler").create_schedule(**args)["ScheduleArn"])

    def _http_api_ref(self, logical: str, res: dict[str, Any]) -> None:
        self.resolver.refs[logical] = logical
        self.resolver.attrs[(logical, "ApiEndpoint")] = self.endpoint_url or "http://127.0.0.1"

    def _function_props(self, res: dict[str, Any]) -> dict[str, Any]:
        glob = self.template.get("Globals", {}).get("Function", {})
        props = dict(res.get("Properties", {}))
        env = dict(glob.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        return {**glob, **props, "Environment": {"Variables": env}}

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
        # One process runs every function, so their variables are set once, for all of them.
        for key, value in spec.environment.items():
            self._setenv(key, value)
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
        self._register_role(f"{logical}Role", f"saldo-local-{logical}Role")

    def _state_machine(self, logical: str, res: dict[str, Any]) -> None:
        p = res.get("Properties", {})
        subs = {k: str(v) for k, v in self.resolver.resolve(p.get("DefinitionSubstitutions", {})).items()}
        if "DefinitionUri" in p:
            uri = p["DefinitionUri"]
            if not isinstance(uri, str):
                raise ValueError(f"{logical}: the local stack reads DefinitionUri from a local file only")
            path = self.root / uri
            text = path.read_text()
            if path.suffix in (".yaml", ".yml"):
                text = json.dumps(yaml.safe_load(text))
        else:
            text = json.dumps(self.resolver.resolve(p["Definition"]))
        for key, value in subs.items():
            text = text.replace("${" + key + "}", value)
        if "${" in text:
            missing = sorted({part.split("}", 1)[0] for part in text.split("${")[1:]})
            raise ValueError(f"{logical}: DefinitionSubstitutions does not define {missing}")
        name = self.resolver.resolve(p.get("Name")) or f"saldo-local-{logical}"
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=LAMBDA_ROLE, type=p.get("Type", "STANDARD")
        )["stateMachineArn"]
        self.state_machines[logical] = arn
        self.resolver.refs[logical] = arn
        self.resolver.attrs[(logical, "Arn")] = arn
        self.resolver.attrs[(logical, "Name")] = name
        self._register_role(f"{logical}Role", f"saldo-local-{logical}Role")

    def _wire_events(self, logical: str, res: dict[str, Any], target_arn: str) -> None:
        is_function = res["Type"] == "AWS::Serverless::Function"
        events = (res.get("Properties", {}).get("Events") or {}).items()
        for event_name, event in events:
            etype, raw = event["Type"], event.get("Properties", {})
            p = self.resolver.resolve(raw)
            if etype == "HttpApi" and is_function:
                auth = (raw.get("Auth") or {}).get("Authorizer")
                api = p.get("ApiId") or "ServerlessHttpApi"
                self._routes.append((p.get("Method", "ANY").upper(), p.get("Path", "/"), logical, auth, api))
            elif etype == "SQS" and is_function:
                if p.get("Enabled", True) in (False, "false"):
                    continue
                queue_arn = p["Queue"]
                url = self.client("sqs").get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
                partial = "ReportBatchItemFailures" in p.get("FunctionResponseTypes", [])
                self.sqs_sources.append(
                    SqsSource(logical, url, queue_arn, int(p.get("BatchSize", 10)), partial)
                )
            elif etype == "Schedule":
                enabled = p.get("Enabled", True) not in (False, "false")
                state = p.get("State") or ("ENABLED" if enabled else "DISABLED")
                target: dict[str, Any] = {"Id": logical, "Arn": target_arn}
                if "Input" in p:
                    target["Input"] = p["Input"]
                self._put_rule(
                    p.get("Name") or f"{logical}-{event_name}",
                    "default",
                    schedule=p["Schedule"],
                    state=state,
                    targets=[target],
                )
            elif etype == "ScheduleV2":
                sched_target = {"Arn": target_arn, "RoleArn": p.get("RoleArn") or LAMBDA_ROLE}
                if "Input" in p:
                    sched_target["Input"] = p["Input"]
                self._create_schedule(p.get("Name") or f"{logical}-{event_name}", p, sched_target)
            elif etype in ("EventBridgeRule", "CloudWatchEvent"):
                target = {"Id": (p.get("Target") or {}).get("Id") or logical, "Arn": target_arn}
                for key in ("Input", "InputPath"):
                    if key in p:
                        target[key] = p[key]
                self._put_rule(
                    p.get("RuleName") or f"{logical}-{event_name}",
                    p.get("EventBusName", "default"),
                    pattern=p["Pattern"],
                    state=p.get("State", "ENABLED"),
                    targets=[target],
                )
            else:
                raise ValueError(f"{logical}: the local stack does not run {etype} events")

    def _http_api(self, logical: str, p: dict[str, Any]) -> None:
        auth = p.get("Auth", {})
        for name, spec in auth.get("Authorizers", {}).items():
            fn_ref = spec["FunctionArn"]
            fn_logical = fn_ref["Fn::GetAtt"][0] if isinstance(fn_ref, dict) else fn_ref
            identity = spec.get("Identity", {})
            self.http.authorizers[name] = Authorizer(
                name,
                fn_logical,
                list(identity.get("Headers", [])),
                int(identity.get("ReauthorizeEvery", 0)),
                identity_query=list(identity.get("QueryStrings", [])),
                simple_responses=bool(spec.get("EnableSimpleResponses", False)),
            )
        cors = self.resolver.resolve(p.get("CorsConfiguration"))
        if cors is True or cors == "true":
            self.http.cors = Cors(["*"], ["*"], ["*"])
        elif isinstance(cors, dict):
            self.http.cors = Cors.from_template(cors)
        default = auth.get("DefaultAuthorizer")
        # SAM's default is the `$default` stage (no prefix); a named one is the first part of every URL.
        stage = str(self.resolver.resolve(p.get("StageName")) or DEFAULT_STAGE)
        for method, path, fn_logical, route_auth, api in self._routes:
            if api == logical:
                authorizer = None if route_auth == "NONE" else (route_auth or default)
                self.http.routes.append(Route(method, path, fn_logical, authorizer, stage))

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

    # ------------------------------------------------------------------ SQS event sources
    def _busy(self, delta: int) -> None:
        with self._inflight_lock:
            self._inflight += delta

    def _install_dynamodb_atomic_writes(self) -> None:
        """DynamoDB applies a conditional write atomically; moto checks the condition and then writes,
        and two request threads can both pass the check in between. One lock makes each write whole,
        so concurrent conditional writes behave locally as they do on AWS."""
        from moto.dynamodb.models import DynamoDBBackend

        lock = threading.RLock()
        for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
            original = getattr(DynamoDBBackend, name)

            def atomic(backend: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                with lock:
                    return _original(backend, *args, **kwargs)

            self._patcher.patch(DynamoDBBackend, name, atomic)

        def transact(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            with lock:
                _transact_write_items(backend, transact_items)

        self._patcher.patch(DynamoDBBackend, "transact_write_items", transact)

    def _install_sqs_wakeup(self) -> None:
        """A message sent to a source queue wakes its poller at once (no long polling, quick stop)."""
        from moto.sqs.models import Queue

        stack = self

        def add_message(queue: Any, message: Any) -> None:
            original(queue, message)
            for source in stack.sqs_sources:
                if source.queue_arn == queue.queue_arn:
                    source.wake.set()

        original = self._patcher.patch(Queue, "add_message", add_message)

    def _sqs_loop(self, source: SqsSource) -> None:
        sqs = self.client("sqs")
        while not self._stop.is_set():
            source.wake.clear()
            received = 0
            with source.lock:
                if not self._hold.is_set() and not self._stop.is_set():
                    try:
                        received = self.poll_queue(source, sqs)
                    except Exception:  # keep polling: one hiccup must not stop the worker
                        _log(f"SQS poll error on {source.function}:\n{traceback.format_exc()}")
            if received == 0:
                source.wake.wait(self.sqs_idle_wait)

    @contextlib.contextmanager
    def hold_event_sources(self) -> Iterator[None]:
        """Pause SQS delivery: messages sent meanwhile wait, then go out in full batches."""
        self._hold.set()
        for source in self.sqs_sources:
            with source.lock:  # let a poll in progress finish
                pass
        try:
            yield
        finally:
            self._hold.clear()
            for source in self.sqs_sources:
                source.wake.set()

    def poll_queue(self, source: SqsSource, sqs: Any = None, wait: int = 0) -> int:
        """Receive one batch and run the function on it, as Lambda's event source mapping does."""
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
            ids = {m["MessageId"] for m in messages}
            event = {"Records": [self._sqs_record(m, source) for m in messages]}
            try:
                result = self.runtime.invoke(source.function, event) or {}
                failed: set[str] = set()
                if source.partial_failures and isinstance(result, dict):
                    failed = {
                        str(f.get("itemIdentifier") or "") for f in result.get("batchItemFailures") or []
                    }
                    if not failed <= ids:  # Lambda treats an unknown or empty identifier as a failed batch
                        _log(f"{source.function}: batchItemFailures names unknown ids {sorted(failed - ids)}")
                        failed = ids
            except LambdaError as err:
                _log(f"{source.function} failed on a batch of {len(messages)}:\n{err.traceback()}")
                failed = ids
            for m in messages:
                if m["MessageId"] in failed:
                    # On AWS a failed message reappears after the visibility timeout; locally sooner.
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
            "messageAttributes": {
                k: {
                    "stringValue": v.get("StringValue"),
                    "binaryValue": v.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": v.get("DataType"),
                }
                for k, v in m.get("MessageAttributes", {}).items()
            },
            "md5OfBody": hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": source.queue_arn,
            "awsRegion": self.region,
        }

    # ------------------------------------------------------------------ async delivery
    def invoke_async(self, function: str, event: Any) -> None:
        """Run a function (name, logical id or ARN) in the background, as an `Event` invocation."""
        self.deliver_async(function, event)

    def deliver_async(self, target: str, payload: Any) -> None:
        """Hand `payload` to a function, state machine or queue (by ARN) in the background."""
        if self._pool is None or self._stop.is_set():
            _log(f"not delivering to {target}: the local stack is stopped")
            return
        self._busy(+1)

        def run() -> None:
            try:
                self._deliver(target, payload)
            except LambdaError as err:
                self.async_errors.append({"target": target, "error": err.payload})
                _log(f"async invocation of {target} failed:\n{err.traceback()}")
            except Exception as exc:
                self.async_errors.append({"target": target, "error": {"errorMessage": str(exc)}})
                _log(f"delivery to {target} failed:\n{traceback.format_exc()}")
            finally:
                self._busy(-1)

        try:
            self._pool.submit(run)
        except RuntimeError:  # the pool shut down meanwhile
            self._busy(-1)

    def _deliver(self, target: str, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
        if target.startswith("arn:") and ":states:" in target:
            self.client("stepfunctions").start_execution(
                stateMachineArn=target, name=str(uuid.uuid4()), input=text
            )
        elif target.startswith("arn:") and ":sqs:" in target:
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=target.rsplit(":", 1)[-1])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=text)
        elif not target.startswith("arn:") or ":lambda:" in target:
            event = payload
            if isinstance(payload, str):
                with contextlib.suppress(ValueError):
                    event = json.loads(payload)
            self.runtime.invoke(target, event)
        else:
            raise ValueError(f"the local stack cannot deliver to {target}")

    def _install_events_bridge(self) -> None:
        """moto's EventBridge delivers to SQS and logs only; Lambda and Step Functions targets go here."""
        from moto.events.models import Rule

        stack = self

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            if rule.state != "ENABLED":
                return
            ours = [t for t in rule.targets if ":lambda:" in t["Arn"] or ":states:" in t["Arn"]]
            # The other targets (SQS, logs) stay with moto, which cannot deliver to Lambda or Step Functions.
            if len(ours) < len(rule.targets):
                rest = copy.copy(rule)
                rest.targets = [t for t in rule.targets if t not in ours]
                original(rest, event, transform_input)
            if not ours or not rule.event_pattern.matches_event(event):
                return
            delivered = dict(event)
            if isinstance(delivered.get("time"), int | float):  # moto keeps epoch seconds; AWS sends ISO
                delivered["time"] = datetime.fromtimestamp(delivered["time"], UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
            delivered.pop("ingestion-time", None)
            for target in ours:
                stack.deliver_async(target["Arn"], stack._target_input(target, delivered))

        original = self._patcher.patch(Rule, "send_to_targets", send_to_targets)

    @staticmethod
    def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
        if target.get("Input"):
            return target["Input"]
        if target.get("InputPath"):
            value: Any = event
            for part in target["InputPath"].lstrip("$").strip(".").split("."):
                value = value.get(part) if part and isinstance(value, dict) else value
            return value
        if target.get("InputTransformer"):
            from moto.events.utils import EventTemplateParser

            transformer = target["InputTransformer"]
            return EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=event,
            )
        return event

    # ------------------------------------------------------------------ schedules
    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def _scheduler_loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.fire_due(self._now())
            except Exception:
                _log(f"scheduler error:\n{traceback.format_exc()}")

    def _scan_timers(self) -> None:
        with self._fire_lock:
            list(self._due_rules(self._now(), fire=False))
            list(self._due_schedules(fire=False, now=self._now()))

    def fire_due(self, now: datetime) -> int:
        """Fire every EventBridge schedule rule and Scheduler schedule due at `now`; returns how many.

        The clock is the caller's: tests pass a time in the future instead of waiting.
        """
        fired = 0
        with self._fire_lock:
            for rule, target in self._due_rules(now):
                envelope = {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": ACCOUNT_ID,
                    "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": self.region,
                    "resources": [rule.arn],
                    "detail": {},
                }
                self.deliver_async(target["Arn"], self._target_input(target, envelope))
                fired += 1
            for schedule in self._due_schedules(fire=True, now=now):
                self.deliver_async(schedule.target["Arn"], schedule.target.get("Input") or "{}")
                fired += 1
        return fired

    def _due_rules(self, now: datetime, fire: bool = True) -> Iterator[tuple[Any, dict[str, Any]]]:
        """Schedule rules as moto holds them (from the template or put_rule at runtime)."""
        from moto.events.models import events_backends

        clocks: dict[tuple[str, str], Recurring] = {}
        for bus in list(events_backends[ACCOUNT_ID][self.region].event_buses.values()):
            for rule in list(bus.rules.values()):
                if not rule.scheduled_expression or rule.state != "ENABLED":
                    continue
                key = (rule.arn, rule.scheduled_expression)
                clock = self._rule_clocks.get(key) or Recurring(rule.scheduled_expression, self._now())
                clocks[key] = clock
                if fire and clock.due(now):
                    for target in list(rule.targets):
                        yield rule, target
        self._rule_clocks = clocks

    def _due_schedules(self, fire: bool, now: datetime) -> Iterator[Any]:
        """EventBridge Scheduler schedules as moto holds them; one-time `at()` ones fire once."""
        from moto.scheduler.models import scheduler_backends

        backend = scheduler_backends[ACCOUNT_ID][self.region]
        clocks: dict[tuple[str, str, str], Recurring] = {}
        for group in list(backend.schedule_groups.values()):
            for schedule in list(group.schedules.values()):
                if schedule.state != "ENABLED":
                    continue
                tz = schedule.schedule_expression_timezone or "UTC"
                key = (schedule.arn, schedule.schedule_expression, tz)
                clock = self._schedule_clocks.get(key)
                if clock is None:
                    created = datetime.fromtimestamp(float(schedule.creation_date), UTC)
                    clock = Recurring(schedule.schedule_expression, created, tz)
                clocks[key] = clock
                if fire and clock.due(now):
                    yield schedule
                    if clock.once and schedule.action_after_completion == "DELETE":
                        with contextlib.suppress(Exception):
                            backend.delete_schedule(group.name, schedule.name)
        self._schedule_clocks = clocks

    # ------------------------------------------------------------------ Step Functions
    def start_execution(self, logical: str, payload: Any = None) -> str:
        """Start the template's state machine `logical`; returns the execution ARN."""
        return str(
            self.client("stepfunctions").start_execution(
                stateMachineArn=self.state_machines[logical],
                name=str(uuid.uuid4()),  # moto names an unnamed execution "None", once
                input=json.dumps(payload if payload is not None else {}, default=str),
            )["executionArn"]
        )

    def wait_for_execution(self, execution_arn: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll until the execution leaves RUNNING; returns describe_execution's answer."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            desc: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if desc["status"] != "RUNNING":
                return desc
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still RUNNING after {timeout} s")
            time.sleep(0.05)

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
        """Wait until no async work runs, event-source queues are empty and no execution is RUNNING.

        Not inside `hold_event_sources()`: held messages never drain.
        """
        deadline = time.monotonic() + timeout
        sqs = self.client("sqs")
        sfn = self.client("stepfunctions") if self.state_machines else None
        while time.monotonic() < deadline:
            pending = 0 if self.idle() else 1
            for source in self.sqs_sources:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=source.queue_url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                pending += int(attrs["ApproximateNumberOfMessages"])
                pending += int(attrs["ApproximateNumberOfMessagesNotVisible"])
            if sfn is not None and not pending:
                for arn in self.state_machines.values():
                    pending += len(
                        sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
                    )
            if pending == 0 and self.idle():
                return
            time.sleep(0.02)
        raise TimeoutError("local stack did not drain in time")


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems as DynamoDB runs it: every condition is checked first, then every write applied,
    all or nothing. moto's own version backs up each whole table with a deep copy for every transaction,
    which grows with the table (a 1,000-item batch ran out of memory); this backs up the touched items."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    plan: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for element in transact_items:
        if len(element) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(element.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        name = op["TableName"]
        table = backend.get_table(name)
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        identity = (str(name), str(dict(sorted(key.items()))))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        current = backend.get_item(name, key)
        condition = op.get("ConditionExpression")
        failed = condition is not None and not get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current)
        if failed:
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
        else:
            errors.append((None, None, None))
        plan.append((op_type, op, name, key))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    backup = [(name, key, copy.deepcopy(backend.get_item(name, key))) for _, _, name, key in plan]
    try:
        for op_type, op, name, key in plan:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                backend.put_item(
                    name, op["Item"], expression_attribute_names=names, expression_attribute_values=values
                )
            elif op_type == "Delete":
                backend.delete_item(
                    name, key, expression_attribute_names=names, expression_attribute_values=values
                )
            elif op_type == "Update":
                backend.update_item(
                    name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except Exception:
        for name, key, item in backup:  # all or nothing: put back what was there
            if item is None:
                backend.delete_item(name, key)
            else:
                backend.put_item(name, item.to_json()["Attributes"])
        raise
