"""The kit's CloudWatch alarm names (one definition: the stacks create them, ``sagelane doctor`` reads them)
and, for each kind, what an operator does when one is in ALARM."""

from __future__ import annotations

from sagelane.client import endpoint_name


def rollback_alarm_names(env: str, model: str) -> dict[str, str]:
    """The endpoint alarms that roll a deployment back while it bakes."""
    endpoint = endpoint_name(env, model)
    return {"errors": f"{endpoint}-5xx-errors", "latency": f"{endpoint}-p99-latency"}


def throttling_alarm_name(env: str, model: str) -> str:
    return f"{endpoint_name(env, model)}-throttling"


def drift_alarm_name(env: str, model: str) -> str:
    return f"{endpoint_name(env, model)}-drift"


def quality_alarm_name(env: str, model: str) -> str:
    return f"{endpoint_name(env, model)}-quality"


def drift_check_failed_alarm_name(env: str) -> str:
    return f"sagelane-{env}-drift-check-failed"


def prefix(env: str) -> str:
    """Every alarm of the environment's kit starts with this."""
    return f"sagelane-{env}-"


# What to do about an alarm in ALARM, by the end of its name; {model} and {env} are filled in.
RUNBOOK = {
    "-5xx-errors": "the endpoint answers with errors: read its logs (/aws/sagemaker/Endpoints/{endpoint}); "
    "roll back with `sagelane models deploy {model} <previous version> --env {env}`",
    "-p99-latency": "the endpoint is slow: check its instance metrics and autoscaling; roll back with "
    "`sagelane models deploy {model} <previous version> --env {env}` if a new version caused it",
    "-throttling": "requests to {model} are throttled: raise its serving.max_concurrency (serverless) or "
    "serving.max_instance_count (instances) in config/{env}.yaml and deploy",
    "-drift": "live traffic drifted from the training data: `sagelane monitor {model} --env {env}` shows which "
    "features; a retraining was started (`sagelane runs list --workflow train --env {env}`): review and approve "
    "its candidate (`sagelane models list {model} --env {env}`)",
    "-quality": "the live quality metric fell below its threshold: `sagelane monitor {model} --env {env}`; "
    "a retraining was started: review its candidate, or roll back to an earlier version",
    "-drift-check-failed": "a scheduled drift check failed after Lambda's retries: its event waits in the "
    "FailedDriftChecks queue and the error is in the DriftMonitor function's logs",
}


def runbook(alarm: str, env: str) -> str | None:
    """The fix for ``alarm`` of ``env`` (None for an alarm the kit does not know)."""
    for suffix, text in sorted(RUNBOOK.items(), key=lambda kv: -len(kv[0])):  # longest suffix first
        if alarm.endswith(suffix):
            model = alarm.removeprefix(prefix(env)).removesuffix(suffix)
            return text.format(model=model, env=env, endpoint=alarm.removesuffix(suffix))
    return None
