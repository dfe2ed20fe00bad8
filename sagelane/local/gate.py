"""The embedded AWS's front door: every request moto serves passes here first, whoever sends it.

moto answers a request as soon as it can route it; AWS first checks it against the API's model
(``constraints``). The gate wraps moto's ``BaseResponse.call_action`` (the one method every service but
S3 dispatches through, in server mode and in-process mode alike) and answers a request that breaks its
model with the service's validation error, serialized in the service's protocol, before moto sees it.

``enforcing(False)`` turns the gate off (``sagelane local up --no-enforce``) to tell a fidelity failure
from a bug while debugging; it is on by default.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Iterator
from typing import Any

import botocore.session

from sagelane.local import constraints
from sagelane.local.patches import patch

log = logging.getLogger("sagelane.local")

_state: dict[str, Any] = {"enforce": True, "authority": None}


def enforced() -> bool:
    return _state["enforce"]


def set_enforcement(on: bool) -> None:
    _state["enforce"] = on


@contextlib.contextmanager
def enforcing(on: bool) -> Iterator[None]:
    before = _state["enforce"]
    _state["enforce"] = on
    try:
        yield
    finally:
        _state["enforce"] = before


@functools.cache
def _service_model(name: str) -> Any:
    return botocore.session.get_session().get_service_model(name)


def request_params(response: Any) -> dict[str, Any] | None:
    """The request's members, parsed by moto's protocol parsers into botocore's shape (None if unparsable)."""
    parsed = response.__dict__.get("params")
    if isinstance(parsed, dict) and response.automated_parameter_parsing:
        return parsed
    missing = object()
    saved = response.__dict__.get("params", missing)
    try:
        response.parse_parameters(response.normalized_request)
        params = response.params
    except Exception:  # a request moto's parser cannot read is moto's to answer
        return None
    finally:
        if saved is missing:
            response.__dict__.pop("params", None)
        else:
            response.params = saved
    return params.original_dict() if hasattr(params, "original_dict") else params


def _service_exception(code: str, text: str) -> Exception:
    # defined here, not in moto: moto's serializer looks an exception's service up by its module's name
    from moto.core.exceptions import ServiceException

    class RequestRejected(ServiceException):
        pass

    return RequestRejected(code, text)


def authority() -> Any:
    """The IAM authority requests are authorized against (None: IAM not enforced)."""
    return _state["authority"] if _state["enforce"] else None


def set_authority(authority: Any) -> None:
    """Authorize requests signed with a principal's credentials against ``authority`` (None: nobody's)."""
    _state["authority"] = authority


# the access-denied code of each service (a KMS denial: the service's KMS code, where it has one)
_DENIED = {
    "sns": ("AuthorizationError", "KMSAccessDeniedException"),
    "sqs": ("AccessDenied", "KmsAccessDenied"),
    "cloudwatch": ("AccessDenied", "AccessDenied"),  # a Query API's common error
    "sts": ("AccessDenied", "AccessDenied"),
    "iam": ("AccessDenied", "AccessDenied"),
}


def _authorize(response: Any, service: str, operation: Any, params: dict[str, Any]) -> Exception | None:
    current = _state["authority"]
    if current is None:
        return None
    principal = current.for_access_key(response.get_access_key())
    if principal is None:
        return None  # the operator: full access
    request = current.request(service, operation.name, params)
    if request is None:
        current.unchecked[f"{service}:{operation.name}"] += 1
        return None
    denial = current.authorize(principal, request.checks, request.context)
    if denial is None:
        invalid = current.authorize(principal, request.validation, request.context)
        if invalid is not None:  # the service's own validation of what its caller may do
            return _service_exception("ValidationException", invalid.message())
        return None
    code, kms_code = _DENIED.get(service, ("AccessDeniedException", "KMSAccessDeniedException"))
    declared = {shape.name for shape in operation.error_shapes}
    if denial.resource.startswith("arn:aws:kms:") and kms_code in declared:
        code = kms_code
    return _service_exception(code, denial.message())


def check(response: Any) -> Exception | None:
    """The error AWS would answer this request with before acting on it, or None."""
    service = response.boto3_service_name
    if not service or service == "s3":
        return None
    try:
        operation = _service_model(service).operation_model(response._get_action())
    except Exception:  # unknown to botocore: moto answers (usually NotImplemented)
        return None
    if operation.input_shape is None:
        return None
    params = request_params(response)
    if params is None:
        return None
    found = constraints.violations(operation.input_shape, params)
    if found:
        return _service_exception(constraints.error_code(operation), constraints.message(found))
    return _authorize(response, service, operation, params)


def _call_action(self: Any) -> Any:
    if _state["enforce"]:
        error = check(self)
        assuming = error is None and self.boto3_service_name == "sts" and self._get_action() == "AssumeRole"
        if assuming:
            error = _assume_role(self)
        if error is not None:
            from moto.core.responses import ActionResult

            log.info("rejected %s %s: %s", self.boto3_service_name, self._get_action(), error)
            status, headers, body = self.serialized(ActionResult(error))
            headers, body = self._enrich_response(headers, body)  # the request id every answer carries
            return status, headers, body
        if assuming:
            return _assumed(self, CALL_ACTION.original(self))
    return CALL_ACTION.original(self)


def _assume_role(response: Any) -> Exception | None:
    """STS's refusal of an AssumeRole (None: moto may issue the credentials): the role must be one of the
    assembly's (or a holder of one of its managed policies: ``sagelane --policy``) and its trust policy admit
    the caller."""
    current = _state["authority"]
    if current is None:
        return None
    params = request_params(response) or {}
    denial = current.assume(current.for_access_key(response.get_access_key()), str(params.get("RoleArn", "")))
    return None if denial is None else _service_exception("AccessDenied", denial.message())


def _assumed(response: Any, answer: Any) -> Any:
    """moto's AssumeRole answer, its credentials made the role's for the authority."""
    current = _state["authority"]
    status, _, body = answer
    text = body.decode() if isinstance(body, bytes) else str(body)
    issued = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", text) or re.search(r'"AccessKeyId":\s*"([^"]+)"', text)
    if current is not None and status == 200 and issued:
        current.add_session(issued.group(1), str((request_params(response) or {}).get("RoleArn")))
    return answer


_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}


def _deleted_keys(request: Any) -> list[str]:
    """The keys of a DeleteObjects request: S3 authorizes s3:DeleteObject on each object, not the bucket."""
    import xml.etree.ElementTree as ElementTree

    body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return [None]  # malformed: moto answers MalformedXML; the bucket is what the request names
    return [element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "Key"] or [None]


def _authorize_s3(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
    """moto's S3 hook (called by every S3 handler once it knows the action): authorize as S3 does."""
    current = _state["authority"] if _state["enforce"] else None
    if current is not None and bucket_name:
        principal = current.for_access_key(self.get_access_key())
        action = self.data.get("Action") if isinstance(self.data, dict) else None
        if principal is not None and isinstance(action, str):
            headers = self.headers
            if "versionId" in self.querystring:  # S3 authorizes a version's read or delete as its own action
                action = _VERSIONED.get(action, action)
            keys = _deleted_keys(self) if self.method == "POST" and "delete" in self.querystring else [key_name]
            checks = [
                check
                for key in keys
                for check in current.s3_checks(action, self.method, bucket_name, key, headers.get("x-amz-copy-source"))
            ]
            prefix = self.querystring.get("prefix", [""])
            context = {
                "s3:prefix": prefix[0] if isinstance(prefix, list) else str(prefix),
                "s3:TlsVersion": "1.3",  # the condition keys S3 sets: the kit's bucket policies test these
            }
            for header in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"):
                if headers.get(header):
                    context[f"s3:{header}"] = headers[header]
            denial = current.authorize(principal, checks, context)
            if denial is not None:
                from moto.s3.exceptions import S3AccessDeniedError

                error = S3AccessDeniedError()
                error.message = denial.message()
                error.args = (error.message,)
                raise error
    S3_ACTION.original(self, bucket_name=bucket_name, key_name=key_name)


def _declare() -> Any:
    from moto.core.responses import BaseResponse

    return patch(
        BaseResponse,
        "call_action",
        _call_action,
        lacks="moto checks few of an API's constraints (no pattern, no maximum length, no enum)",
        aws="every request is validated against the API's model first: ValidationException naming each violation",
    )


CALL_ACTION = _declare()


def _declare_s3() -> Any:
    from moto.core.authorization import ActionAuthenticatorMixin

    return patch(
        ActionAuthenticatorMixin,
        "_authenticate_and_authorize_s3_action",
        _authorize_s3,
        lacks="moto checks no policy on S3 (unless its own IAM emulation is on, without resource policies or KMS)",
        aws="identity and bucket policies for the S3 action, and the KMS key of an SSE-KMS object",
    )


S3_ACTION = _declare_s3()


def install(authority: Any = None) -> None:
    """Validate (and, given ``authority``, authorize) every request, S3's included."""
    CALL_ACTION.apply()
    S3_ACTION.apply()
    if authority is not None:
        set_authority(authority)


def uninstall() -> None:
    CALL_ACTION.undo()
    S3_ACTION.undo()
    set_authority(None)
