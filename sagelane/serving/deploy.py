"""The deploy workflow's decisions as plain functions: what to deploy (plan) and whether it serves (smoke test).

- **plan**: from a "Model Package State Change" event (or a manual request), decide what the model's
  endpoint should serve. An approval deploys that version unless it is already live, no longer Approved,
  or superseded by a newer Approved version (events can arrive late, twice or out of order). Rejecting
  the live version rolls back to the newest other Approved version. Names of the new Model and
  EndpointConfig are unique per run, so a retried or repeated run never collides with live resources.
- **smoke_test**: invoke the endpoint with rows built from the contract and check every row got a
  prediction of the contract's kind.

The SageMaker calls themselves (create model / config / endpoint, update, rollback, autoscaling) are
Step Functions tasks in ``step_functions/deploy.py``; only decisions live here.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from sagelane.client import endpoint_name
from sagelane.contract import ColumnType, Contract
from sagelane.errors import SageLaneError, UnknownModelError
from sagelane.registry import group_name

LIVE_VARIANT = "live"  # stable: autoscaling and alarms are bound to the variant name
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


class SmokeTestFailedError(SageLaneError):
    """The newly deployed version did not answer a contract-shaped request correctly."""


def resource_name(endpoint: str, version: int, run: str) -> str:
    """Model / EndpointConfig name for one deploy run: ``<endpoint>-v<N>-<8 hex of the run>`` (≤ 63)."""
    token = hashlib.sha256(run.encode()).hexdigest()[:8]
    return f"{endpoint[:40]}-v{version}-{token}"


def plan(
    *,
    sagemaker: Any,
    dynamodb: Any,
    table: str,
    env: str,
    models: set[str],
    request: dict[str, Any],
    run: str,
) -> dict[str, Any]:
    """What this run does: ``action`` is ``deploy``, ``skip`` or ``nothing_to_roll_back_to``."""
    model, version, status, trigger = _read_request(env, models, request)
    endpoint = endpoint_name(env, model)
    live = _live(dynamodb, table, model)
    current_config = _endpoint_config(sagemaker, endpoint)
    live_version = int(live["version"]["N"]) if live and current_config is not None else None
    versions = _versions(sagemaker, group_name(env, model))
    if version not in versions:
        raise SageLaneError(f"{model} has no version {version} in {group_name(env, model)}")
    approved = sorted((v for v, (s, _) in versions.items() if s == "Approved"), reverse=True)
    base = {
        "model": model,
        "endpoint": endpoint,
        "trigger": trigger,
        "requested_version": version,
        "live_version": live_version or 0,
        "exists": current_config is not None,
        "previous_endpoint_config": current_config or "",
    }

    def skip(reason: str) -> dict[str, Any]:
        return {**base, "action": "skip", "reason": reason}

    if status == "Rejected":
        if live_version != version:
            return skip(f"version {version} was rejected but is not live (live: {live_version or 'none'})")
        others = [v for v in approved if v != version]
        if not others:
            return {
                **base,
                "action": "nothing_to_roll_back_to",
                "reason": f"live version {version} was rejected and no other version is Approved; "
                f"it keeps serving until one is approved or the endpoint {endpoint} is deleted",
            }
        target, reason = others[0], f"live version {version} was rejected: rolling back to version {others[0]}"
    elif status == "Approved":
        now, _ = versions[version]
        if now != "Approved":
            return skip(f"version {version} is no longer Approved (now {now})")
        if trigger == "approval" and approved[0] > version:
            return skip(f"version {version} is superseded by Approved version {approved[0]}")
        if live_version == version and live and live["endpoint_config"]["S"] == current_config:
            return skip(f"version {version} is already live on {endpoint}")
        target, reason = version, f"version {version} approved" if trigger == "approval" else "requested"
    else:
        return skip(f"version {version} is {status}: only Approved versions are deployed")

    name = resource_name(endpoint, target, run)
    return {
        **base,
        "action": "deploy",
        "reason": reason,
        "version": target,
        "package_arn": versions[target][1],
        "model_name": name,
        "endpoint_config": name,
    }


def _read_request(env: str, models: set[str], request: dict[str, Any]) -> tuple[str, int, str, str]:
    """(model, version, status, trigger) from an EventBridge event or ``{"model", "version"}``."""
    if "detail" in request:
        detail = request["detail"]
        group = detail.get("ModelPackageGroupName", "")
        prefix = group_name(env, "")
        model = group.removeprefix(prefix) if group.startswith(prefix) else ""
        status = detail.get("ModelApprovalStatus", "")
        trigger = "rejection" if status == "Rejected" else "approval"
        version = detail.get("ModelPackageVersion")
    else:
        model, version, status, trigger = request.get("model", ""), request.get("version"), "Approved", "manual"
    if model not in models:
        known = ", ".join(sorted(models)) or "none"
        raise UnknownModelError(f"unknown model {model!r} (package group or request); this deployment serves: {known}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SageLaneError(f"the request names no valid version of {model}: {version!r}")
    return model, version, status, trigger


def _live(dynamodb: Any, table: str, model: str) -> dict[str, Any] | None:
    return dynamodb.get_item(TableName=table, Key={"model": {"S": model}}, ConsistentRead=True).get("Item")


def _endpoint_config(sagemaker: Any, endpoint: str) -> str | None:
    try:
        return sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    except sagemaker.exceptions.ClientError as exc:
        if "Could not find" in str(exc) or "ValidationException" in str(exc):
            return None
        raise


def _versions(sagemaker: Any, group: str) -> dict[int, tuple[str, str]]:
    """version → (approval status, package ARN)."""
    found: dict[int, tuple[str, str]] = {}
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        page = sagemaker.list_model_packages(**kwargs)
        for summary in page.get("ModelPackageSummaryList", []):
            found[int(summary["ModelPackageVersion"])] = (summary["ModelApprovalStatus"], summary["ModelPackageArn"])
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]


# --- smoke test ----------------------------------------------------------------------------------


def sample_records(contract: Contract, rows: int = 2) -> list[dict[str, Any]]:
    """``rows`` records every input column of the contract accepts (values within its rules)."""
    target = contract.target.column if contract.target else None
    records: list[dict[str, Any]] = []
    for i in range(rows):
        record: dict[str, Any] = {}
        for column in contract.columns:
            if column.name == target:
                continue
            record[column.name] = _value(column, i)
        records.append(record)
    return records


def _value(column: Any, i: int) -> Any:
    if column.allowed_values:
        return column.allowed_values[i % len(column.allowed_values)]
    if column.type.is_numeric:
        low = column.min if column.min is not None else 0.0
        high = column.max if column.max is not None else low + 1.0
        value = low + (high - low) * (0.25 + 0.5 * (i % 2))
        return round(value) if column.type is ColumnType.INTEGER else value
    return {
        ColumnType.BOOLEAN: i % 2 == 0,
        ColumnType.DATE: "2024-01-01",
        ColumnType.DATETIME: "2024-01-01T00:00:00",
    }.get(column.type, "sample")


def smoke_test(*, runtime: Any, endpoint: str, contract: Contract) -> dict[str, Any]:
    """Invoke ``endpoint`` with contract-shaped rows; raise :class:`SmokeTestFailedError` unless all are answered."""
    records = sample_records(contract)
    started = time.perf_counter()
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint,
            Body=json.dumps(records).encode(),
            ContentType="application/json",
            Accept="application/json",
        )
        body = response["Body"].read()
    except runtime.exceptions.ClientError as exc:
        raise SmokeTestFailedError(f"{endpoint} refused a contract-shaped request: {exc}") from None
    seconds = time.perf_counter() - started
    try:
        predictions = json.loads(body)
    except ValueError:
        raise SmokeTestFailedError(f"{endpoint} answered with something that is not JSON: {body[:200]!r}") from None
    if not isinstance(predictions, list) or len(predictions) != len(records):
        raise SmokeTestFailedError(f"{endpoint} answered {len(records)} rows with {str(predictions)[:200]}")
    labels = _labels(contract)
    for i, prediction in enumerate(predictions):
        if not isinstance(prediction, dict) or "prediction" not in prediction:
            raise SmokeTestFailedError(f"{endpoint}: row {i} has no prediction: {str(prediction)[:200]}")
        if labels is not None and prediction["prediction"] not in labels:
            raise SmokeTestFailedError(
                f"{endpoint}: row {i} predicted {prediction['prediction']!r}, not one of the contract's labels {labels}"
            )
    return {"rows": len(records), "predictions": [p["prediction"] for p in predictions], "seconds": round(seconds, 3)}


def _labels(contract: Contract) -> list[Any] | None:
    if contract.target is None or "classification" not in str(contract.target.problem_type):
        return None
    column = next(c for c in contract.columns if c.name == contract.target.column)
    return list(column.allowed_values) if column.allowed_values else None
