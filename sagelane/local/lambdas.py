"""Lambda functions run in-process: the real handler behind ``lambda:Invoke`` (no Docker).

A ``before-call.lambda.Invoke`` hook on botocore answers invocations of registered functions by importing
the function's ``handler.py`` from its synthesized code asset and calling it with the function's
environment variables set, the way the Lambda runtime would. An exception becomes ``FunctionError:
Unhandled`` with ``errorType`` = the exception's class name — which is how Step Functions' Retry / Catch
see Lambda errors in the cloud. Invocations are serialized (handlers keep module-level state, and what
they print goes to their function's log). Lambda's limits apply: the Invoke payload quotas (6 MB request
and response, 1 MB asynchronous request: ``RequestEntityTooLargeException``, ``Function.ResponseSizeTooLarge``)
and the function's Timeout (``Sandbox.Timedout``); its MemorySize is what the handler's ``context`` reports,
not enforced (docs/embedded-aws.md says why). A handler sees its function's variables in ``os.environ`` from
its own thread only (``sagelane.environ``): the process environment, which the Step Functions interpreters
and the moto server read meanwhile, never changes under them.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import re
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

import boto3
import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

from sagelane.environ import thread_environment
from sagelane.local import faults, gate
from sagelane.local.patches import Patch, patch_entry

log = logging.getLogger("sagelane.local")
# One Lambda invocation at a time per process: handlers keep module-level state (their clients, powertools'
# metrics) and their output is routed to one log at a time.
_INVOKE_LOCK = threading.RLock()


@dataclass
class LocalFunction:
    name: str
    arn: str
    code_dir: Path
    handler: str  # "handler.lambda_handler"
    environment: dict[str, str]
    memory_mb: int = 128  # MemorySize (Lambda's default), what context.memory_limit_in_mb reports
    timeout_s: float = 3.0  # Timeout (Lambda's default): past it the invocation fails as Lambda reports it
    invocations: int = 0
    log: TextIO | None = None  # where the function's stdout / stderr go (its "CloudWatch log group")
    _module: ModuleType | None = field(default=None, repr=False)

    def reset(self) -> None:
        """Forget the loaded module: the next invocation starts in a new execution environment."""
        self._module = None

    def entry_point(self) -> Callable[[Any, Any], Any]:
        module_file, function = self.handler.rsplit(".", 1)
        if self._module is None:
            path = self.code_dir / f"{module_file.replace('.', '/')}.py"
            spec = importlib.util.spec_from_file_location(f"sagelane_local_fn_{self.name}", path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            self._module = module
        return getattr(self._module, function)


class _Route(threading.local):
    sink: TextIO | None = None


_ROUTE = _Route()


class _RoutedStream(io.TextIOBase):
    """sys.stdout / sys.stderr while functions run locally: what a function prints goes to its log
    (from the thread running it); everything else goes where it always went."""

    def __init__(self, default: TextIO) -> None:
        self.default = default

    def write(self, text: str) -> int:
        return (_ROUTE.sink or self.default).write(text)

    def flush(self) -> None:
        (_ROUTE.sink or self.default).flush()

    def isatty(self) -> bool:
        return self.default.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.default, "encoding", "utf-8")


class _Context:
    """What the Lambda runtime passes as ``context``."""

    def __init__(self, fn: LocalFunction, request_id: str, deadline: float) -> None:
        self.function_name = fn.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.arn
        self.memory_limit_in_mb = fn.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{fn.name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# Lambda's payload quotas (Invoke API reference: 6 MB request and response synchronously, 1 MB for an
# asynchronous request) and the figure its response-size error names
SYNC_REQUEST_LIMIT = 6 * 1024 * 1024
ASYNC_REQUEST_LIMIT = 1024 * 1024
RESPONSE_LIMIT = 6 * 1024 * 1024
RESPONSE_LIMIT_REPORTED = 6291556


def _timed_out(request_id: str, timeout_s: float) -> dict[str, Any]:
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds",
    }


def _region_of(arn: str) -> dict[str, str]:
    """AWS_REGION and AWS_DEFAULT_REGION, which the Lambda runtime sets to the function's region."""
    parts = arn.split(":")
    return {"AWS_REGION": parts[3], "AWS_DEFAULT_REGION": parts[3]} if len(parts) > 3 and parts[3] else {}


def _invoke_hook(handler: Callable[..., Any]) -> Patch:
    return patch_entry(
        botocore.handlers.BUILTIN_HANDLERS,
        ("before-call.lambda.Invoke", handler),
        name="before-call.lambda.Invoke",
        where="botocore.handlers.BUILTIN_HANDLERS",
        lacks="moto runs a function in Docker (or not at all)",
        aws="Invoke runs the function's handler as its execution role, within its limits (here in process)",
    )


_invoke_hook(lambda **_: None)  # declared at import (each runtime declares its own when it installs)


class LocalLambda:
    """The registry of functions run in-process, and the botocore hook that runs them."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.functions: dict[str, LocalFunction] = {}
        self.log_dir = log_dir
        self.active = False  # answering invocations (between install and uninstall)

    def register(self, fn: LocalFunction) -> None:
        if self.log_dir is not None and fn.log is None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            fn.log = (self.log_dir / f"{fn.name}.log").open("a", encoding="utf-8", buffering=1)
        self.functions[fn.name] = fn
        self.functions[fn.arn] = fn

    def lookup(self, name_or_arn: str) -> LocalFunction | None:
        if name_or_arn in self.functions:
            return self.functions[name_or_arn]
        # qualified ARNs (…:function:name:$LATEST) and partial ARNs
        base = name_or_arn.split(":function:")[-1].split(":")[0]
        return self.functions.get(base)

    def install(self) -> None:
        """Answer lambda:Invoke for registered functions in every botocore session created from now on.

        moto's Step Functions interpreter creates its own clients, so the hook goes into botocore's
        built-in handlers (which every new session copies) and the cached default session is dropped.
        """
        self.active = True
        faults.install()
        self._hook = _invoke_hook(self._on_invoke)  # this runtime's own: calls from clients of an earlier one
        self._hook.apply()  # (runs still going) reach that one, which refuses them
        boto3.DEFAULT_SESSION = None

    def uninstall(self) -> None:
        self.active = False  # clients created earlier (runs still going) keep the hook: refuse their calls
        hook = getattr(self, "_hook", None)
        if hook is not None:
            hook.undo()
        faults.uninstall()
        boto3.DEFAULT_SESSION = None
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if isinstance(stream, _RoutedStream):
                setattr(sys, name, stream.default)

    def invoke(self, fn: LocalFunction, event: Any) -> tuple[Any, str | None]:
        """Run the handler; returns (payload, function_error).

        One invocation at a time in the process (``_INVOKE_LOCK``, shared by every ``LocalLambda``); the
        handler runs in a thread of its own with the function's environment laid over ``os.environ`` for
        that thread only. Past the function's Timeout the invocation fails as Lambda reports it
        (``Sandbox.Timedout``); Lambda would stop the handler there, a thread cannot be stopped: it runs on,
        its result discarded, and its module is loaded afresh for the next invocation.
        """
        if not self.active:  # a run of a stopped embedded AWS: its Lambda calls fail, touching nothing
            return {"errorType": "ServiceException", "errorMessage": "the embedded AWS was stopped"}, "Unhandled"
        request_id = str(uuid.uuid4())
        if faults.take("lambda", "Invoke", {"FunctionName": fn.name}):  # as Lambda reports a timed-out run
            fn.invocations += 1
            return _timed_out(request_id, fn.timeout_s), "Unhandled"
        with _INVOKE_LOCK:
            variables = {
                **fn.environment,
                # what the Lambda runtime itself sets
                "LAMBDA_TASK_ROOT": str(fn.code_dir),
                "AWS_LAMBDA_FUNCTION_NAME": fn.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
                "AWS_EXECUTION_ENV": "sagelane-local",
                **_region_of(fn.arn),
            }
            fn.invocations += 1
            if fn.log is not None:
                # Route from whatever sys.stdout / sys.stderr are now (a test runner may have swapped them).
                for name in ("stdout", "stderr"):
                    if not isinstance(getattr(sys, name), _RoutedStream):
                        setattr(sys, name, _RoutedStream(getattr(sys, name)))
            outcome: list[tuple[Any, str | None]] = []
            deadline = time.monotonic() + fn.timeout_s

            def run() -> None:
                _ROUTE.sink = fn.log
                try:
                    with thread_environment(variables):
                        result = fn.entry_point()(event, _Context(fn, request_id, deadline))
                    outcome.append((result, None))
                except Exception as exc:  # the handler's failure is the invocation's result
                    log.info("function %s raised %s: %s", fn.name, type(exc).__name__, exc)
                    trace = traceback.format_exception(exc)
                    outcome.append(
                        ({"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": trace}, "Unhandled")
                    )
                finally:
                    _ROUTE.sink = None

            worker = threading.Thread(target=run, name=f"lambda-{fn.name}", daemon=True)
            worker.start()
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive() or not outcome:
                log.warning("function %s timed out after %.2f s (Timeout)", fn.name, fn.timeout_s)
                fn.reset()  # a new execution environment, as Lambda starts after a timeout
                if fn.log is not None:
                    fn.log.write(f"{request_id} Task timed out after {fn.timeout_s:.2f} seconds\n")
                return _timed_out(request_id, fn.timeout_s), "Unhandled"
            return outcome[0]

    def _on_invoke(
        self, params: dict[str, Any], request_signer: Any = None, **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        # ``params`` is the serialized request: /2015-03-31/functions/<name or ARN>/invocations + body
        path = urllib.parse.unquote(params.get("url_path", ""))
        match = re.search(r"/functions/([^/]+)/invocations", path)
        fn = self.lookup(match.group(1)) if match else None
        if fn is None:
            return None  # not ours: let the call go on
        denied = _denied_invoke(request_signer, fn)
        if denied is not None:
            return denied
        raw = params.get("body") or b"{}"
        raw = (raw.read() if hasattr(raw, "read") else raw) or b"{}"
        raw = raw.encode() if isinstance(raw, str) else raw
        headers_in = {k.lower(): v for k, v in (params.get("headers") or {}).items()}
        asynchronous = headers_in.get("x-amz-invocation-type") == "Event"
        too_large = _too_large(fn, len(raw), asynchronous)
        if too_large is not None:
            return too_large
        event = json.loads(raw)
        payload, error = self.invoke(fn, event)
        body = json.dumps(payload, default=str).encode()
        if error is None and len(body) > RESPONSE_LIMIT:  # the handler ran; its answer cannot be returned
            payload = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size exceeded maximum allowed payload size "
                f"({RESPONSE_LIMIT_REPORTED} bytes).",
            }
            body, error = json.dumps(payload).encode(), "Unhandled"
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        parsed: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": headers},
        }
        if error:
            parsed["FunctionError"] = error
            headers["X-Amz-Function-Error"] = error
        return AWSResponse(fn.arn, 200, headers, None), parsed


def _too_large(fn: LocalFunction, size: int, asynchronous: bool) -> tuple[AWSResponse, dict[str, Any]] | None:
    """Lambda's answer to a request payload over the Invoke quota (None: within it)."""
    if asynchronous and size > ASYNC_REQUEST_LIMIT:
        code, message = (
            "RequestEntityTooLargeException",
            f"{size} byte payload is too large for the Event invocation type (limit {ASYNC_REQUEST_LIMIT} bytes)",
        )
    elif not asynchronous and size > SYNC_REQUEST_LIMIT:
        code, message = (
            "RequestEntityTooLargeException",
            f"Request must be smaller than {SYNC_REQUEST_LIMIT} bytes for the InvokeFunction operation",
        )
    else:
        return None
    headers = {"x-amzn-ErrorType": code}
    parsed = {
        "Error": {"Code": code, "Message": message},
        "Message": message,
        "ResponseMetadata": {"HTTPStatusCode": 413, "HTTPHeaders": headers},
    }
    return AWSResponse(fn.arn, 413, headers, None), parsed


def _denied_invoke(request_signer: Any, fn: LocalFunction) -> tuple[AWSResponse, dict[str, Any]] | None:
    """Lambda's answer to a caller without lambda:InvokeFunction on the function (None: allowed), where
    the embedded AWS enforces IAM: the call never reaches moto, so it is authorized here."""
    authority = gate.authority()
    credentials = getattr(request_signer, "_credentials", None)
    if authority is None or credentials is None:
        return None
    principal = authority.for_access_key(getattr(credentials, "access_key", None))
    if principal is None:
        return None  # the operator: full access
    denial = authority.authorize(principal, [("lambda:InvokeFunction", fn.arn)])
    if denial is None:
        return None
    headers = {"x-amzn-ErrorType": "AccessDeniedException"}
    parsed = {
        "Error": {"Code": "AccessDeniedException", "Message": denial.message()},
        "ResponseMetadata": {"HTTPStatusCode": 403, "HTTPHeaders": headers},
    }
    return AWSResponse(fn.arn, 403, headers, None), parsed
