"""Runs the template's Lambda handlers in-process, the way the Lambda runtime would call them."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import threading
import traceback
import types
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saldo_tools.localstack.hooks import Patcher
from saldo_tools.localstack.template import ACCOUNT_ID

# The logical id of the function whose handler is running (all share one process): lets a test attribute
# each AWS call to the function that made it (tests/security/iam_recorder.py).
current_function: ContextVar[str | None] = ContextVar("saldo_local_function", default=None)

MAX_RESPONSE = 6 * 1024 * 1024  # a synchronous invocation's response payload limit on AWS


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record is emitted (tests swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


# What the local stack itself reports (handler tracebacks, limits it enforces): "[local] ..." on stderr.
log = logging.getLogger("saldo_tools.localstack")
if not log.handlers:
    _handler = _Stderr()
    _handler.setFormatter(logging.Formatter("[local] %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    handler: str
    code_dir: Path
    timeout: int
    memory: int
    environment: dict[str, str] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)

    def arn(self, region: str) -> str:
        return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.name}"


class LambdaError(Exception):
    """A handler raised: carries the Lambda-style error payload."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", "error"))
        self.payload = payload

    def traceback(self) -> str:
        lines = self.payload.get("stackTrace") or [f"{self.payload.get('errorType')}: {self}"]
        return "\n".join(lines)


class FunctionRuntime:
    def __init__(self, region: str) -> None:
        self.region = region
        self.specs: dict[str, FunctionSpec] = {}
        self._by_name: dict[str, FunctionSpec] = {}
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._import_lock = threading.Lock()

    def add(self, spec: FunctionSpec) -> None:
        """Register a function; its code directory goes on sys.path (the stack sets its environment)."""
        self.specs[spec.logical_id] = spec
        self._by_name[spec.name] = spec
        self._by_name[spec.arn(self.region)] = spec
        code_dir = str(spec.code_dir.resolve())
        if code_dir not in sys.path:
            sys.path.insert(0, code_dir)

    def find(self, name_or_arn: str) -> FunctionSpec:
        key = (
            name_or_arn.split(":")[-1]
            if name_or_arn.startswith("arn:") and name_or_arn.count(":") > 6
            else name_or_arn
        )
        spec = self.specs.get(key) or self._by_name.get(key) or self._by_name.get(name_or_arn)
        if spec is None:
            raise KeyError(f"no function {name_or_arn}")
        return spec

    def handler(self, spec: FunctionSpec) -> Callable[..., Any]:
        with self._import_lock:
            if spec.logical_id not in self._handlers:
                module_name, func = spec.handler.rsplit(".", 1)
                module = importlib.import_module(module_name)
                _check_module_origin(module, module_name, spec)
                self._handlers[spec.logical_id] = getattr(module, func)
        return self._handlers[spec.logical_id]

    def context(self, spec: FunctionSpec) -> Any:
        return types.SimpleNamespace(
            aws_request_id=str(uuid.uuid4()),
            function_name=spec.name,
            function_version="$LATEST",
            invoked_function_arn=spec.arn(self.region),
            memory_limit_in_mb=spec.memory,
            log_group_name=f"/aws/lambda/{spec.name}",
            log_stream_name="local",
            get_remaining_time_in_millis=lambda: spec.timeout * 1000,
        )

    def invoke(self, name_or_arn: str, event: Any) -> Any:
        """Call the handler; a raised exception becomes `LambdaError` with Lambda's error payload, and so
        does a response over Lambda's 6 MB limit (`check_response`), for every kind of invocation.

        Handlers run concurrently, as separate execution environments would on AWS; but they share one
        process here, so module state is shared too (see docs/ARCHITECTURE.md, Local stack).
        """
        spec = self.find(name_or_arn)
        token = current_function.set(spec.logical_id)
        try:
            result = self.handler(spec)(event, self.context(spec))
        except Exception as exc:
            raise LambdaError(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exc().splitlines(),
                }
            ) from exc
        finally:
            current_function.reset(token)
        return check_response(spec.logical_id, result)

    def install_moto_bridge(
        self, patcher: Patcher, invoke_async: Callable[[str, Any], None] | None = None
    ) -> None:
        """Make moto's Lambda (Step Functions tasks, `lambda:Invoke`) run the real handlers in-process.

        `InvocationType=Event` calls go to `invoke_async` (a pool), as Lambda queues them.
        """
        from moto.awslambda_simple.models import LambdaSimpleBackend

        runtime = self

        def invoke(
            self: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            self.get_function(function_name, qualifier)  # an unknown function: moto's 404, as on AWS
            payload = json.loads(body) if body else {}
            invocation_type = {str(k).lower(): v for k, v in dict(headers or {}).items()}.get(
                "x-amz-invocation-type", "RequestResponse"
            )
            if invocation_type == "Event" and invoke_async is not None:
                invoke_async(function_name, payload)
                return b""
            try:
                return json.dumps(runtime.invoke(function_name, payload), default=str).encode()
            except LambdaError as err:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(err.payload).encode()

        patcher.patch(LambdaSimpleBackend, "invoke", invoke)


def check_response(function: str, result: Any) -> Any:
    """The result, or `Function.ResponseSizeTooLarge` as Lambda fails an invocation whose response is
    over 6 MB (the one place the local stack enforces it)."""
    size = response_size(result)
    if size > MAX_RESPONSE:
        raise LambdaError(
            {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"{function}: response of {size} bytes exceeds Lambda's 6 MB "
                f"({MAX_RESPONSE} bytes) payload limit; put large documents in S3",
            }
        )
    return result


def response_size(result: Any) -> int:
    """The size of a handler's result as Lambda serialises it; exact when it may be near the limit."""
    body = result.get("body") if isinstance(result, dict) else None
    if isinstance(body, str) and len(body) <= MAX_RESPONSE // 6:
        # Far from the limit even if every character were escaped as \uXXXX: skip serialising it.
        rest = {k: v for k, v in result.items() if k != "body"}
        return len(body) + len(json.dumps(rest, default=str))
    return len(json.dumps(result, default=str).encode())


def _check_module_origin(module: types.ModuleType, module_name: str, spec: FunctionSpec) -> None:
    """All functions share one process, so two handler modules with one name would shadow each other."""
    top = module_name.split(".", 1)[0]
    code_dir = spec.code_dir.resolve()
    if not ((code_dir / f"{top}.py").exists() or (code_dir / top).is_dir()):
        return  # the handler lives in a layer or an installed package
    origin = Path(getattr(module, "__file__", "") or "").resolve()
    if code_dir not in origin.parents:
        raise ImportError(
            f"{spec.logical_id}: handler module {module_name!r} is already loaded from {origin}; the local "
            "stack runs every function in one process, so handler modules need unique names"
        )
