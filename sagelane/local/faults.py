"""Fault injection for the embedded AWS: make the next calls of an AWS operation fail the way AWS fails them.

    from sagelane.local import faults
    faults.inject("sagemaker", "CreateEndpoint", "ResourceLimitExceeded", "account limit reached")
    faults.inject("s3", "PutObject", "AccessDenied", status=403, when=lambda p: p["Bucket"] == curated)
    faults.lambda_timeout("Validate")        # the next invocation of a function whose name holds "Validate"

A fault is consumed by the first call it matches, whoever makes it: a workflow's aws-sdk task, a Lambda
handler running locally, the training-job service. The fault tests (tests/e2e/test_faults.py) use it to
show that every failure ends in its documented state, with a notification, and loses nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.handlers
from botocore.awsrequest import AWSResponse

from sagelane.local.patches import apply, patch_entry, undo

Match = Callable[[dict[str, Any]], bool]


@dataclass
class Fault:
    service: str  # botocore's service name: "sagemaker", "s3", "lambda"
    operation: str  # the API operation: "CreateEndpoint", "PutObject"
    code: str
    message: str
    status: int = 400
    when: Match | None = None  # a test on the call's parameters (as the caller passed them)
    times: int = 1

    def matches(self, service: str, operation: str, params: dict[str, Any]) -> bool:
        return (self.service, self.operation) == (service, operation) and (self.when is None or self.when(params))


_LOCK = threading.Lock()
_PENDING: list[Fault] = []


def inject(
    service: str,
    operation: str,
    code: str,
    message: str,
    *,
    status: int = 400,
    times: int = 1,
    when: Match | None = None,
) -> Fault:
    """Fail the next ``times`` calls of ``service``'s ``operation`` (matching ``when``) with ``code``."""
    install()
    fault = Fault(service, operation, code, message, status, when, times)
    with _LOCK:
        _PENDING.append(fault)
    return fault


def lambda_timeout(function: str, *, times: int = 1) -> Fault:
    """The next ``times`` invocations of a function whose name contains ``function`` time out."""
    return inject("lambda", "Invoke", "Sandbox.Timedout", "Task timed out", times=times, when=_function(function))


def take(service: str, operation: str, params: dict[str, Any] | None = None) -> Fault | None:
    """The pending fault this call meets (consumed), if any."""
    with _LOCK:
        for fault in _PENDING:
            if fault.matches(service, operation, params or {}):
                fault.times -= 1
                if fault.times <= 0:
                    _PENDING.remove(fault)
                return fault
    return None


def pending() -> list[Fault]:
    with _LOCK:
        return list(_PENDING)


def clear() -> None:
    with _LOCK:
        _PENDING.clear()


def _function(fragment: str) -> Match:
    return lambda params: fragment in str(params.get("FunctionName", ""))


def _before_parameter_build(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    # remember the caller's parameters: before-call sees them serialized
    context["sagelane_params"] = dict(params)


def _before_call(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    service = model.service_model.service_name
    params = context.get("sagelane_params", {})
    if service == "lambda" and model.name == "Invoke":
        return None  # the local Lambda runtime takes its faults itself (a timeout is a function error)
    fault = take(service, model.name, params)
    if fault is None:
        return None
    error = {"Code": fault.code, "Message": fault.message}
    metadata = {"HTTPStatusCode": fault.status, "HTTPHeaders": {}, "RequestId": str(uuid.uuid4())}
    parsed = {"Error": error, "ResponseMetadata": metadata}
    return AWSResponse("https://sagelane.local/fault", fault.status, {}, None), parsed


_HOOKS = [
    patch_entry(
        botocore.handlers.BUILTIN_HANDLERS,
        (event, handler),
        name=event,
        where="botocore.handlers.BUILTIN_HANDLERS",
        lacks="nothing in moto or botocore fails a call on purpose",
        aws="(fault injection: the next matching call fails with the error AWS would send)",
    )
    for event, handler in (("before-parameter-build.*.*", _before_parameter_build), ("before-call.*.*", _before_call))
]


def install() -> None:
    """Put the hooks into every botocore session created from now on (moto's interpreter makes its own)."""
    if not all(hook.applied for hook in _HOOKS):
        apply(_HOOKS)
        boto3.DEFAULT_SESSION = None


def uninstall() -> None:
    if any(hook.applied for hook in _HOOKS):
        undo(_HOOKS)
        boto3.DEFAULT_SESSION = None
