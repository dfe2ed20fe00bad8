"""Workflow runs (Step Functions executions) as operators read them — against AWS or the embedded AWS.

A deployed environment publishes where its workflows are as SSM parameters
(``/sagelane/<env>/<workflow>/state-machine-arn``); everything here starts from those.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sagelane import aws
from sagelane.errors import SageLaneError

WORKFLOWS = ("ingest", "train", "deploy", "backfill")


class NotDeployedError(SageLaneError):
    """The environment has no such resource (not deployed, or the wrong account / endpoint)."""


class RunNotFoundError(SageLaneError):
    """No run with that id in the environment's workflows."""


def parameter(name: str) -> str:
    ssm = aws.client("ssm")
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        raise NotDeployedError(
            f"SSM parameter {name} not found: is the environment deployed (or the embedded AWS running, "
            "with AWS_ENDPOINT_URL pointing at it)?"
        ) from None


def workflow_arn(env: str, workflow: str) -> str:
    return parameter(f"/sagelane/{env}/{workflow}/state-machine-arn")


def deployed_workflows(env: str, only: str | None = None) -> dict[str, str]:
    names = [only] if only else list(WORKFLOWS)
    found = {}
    for name in names:
        try:
            found[name] = workflow_arn(env, name)
        except NotDeployedError:
            if only:
                raise NotDeployedError(f"workflow {name!r} is not deployed in environment {env!r}") from None
    if not found:
        raise NotDeployedError(f"no SageLane workflow found for environment {env!r}")
    return found


@dataclass
class Step:
    name: str
    entered: datetime
    seconds: float | None
    status: str  # succeeded | failed | caught | running
    error: str | None = None
    cause: str | None = None
    output: dict[str, Any] | None = None  # the state's output (its whole data, after the state)


@dataclass
class Run:
    id: str  # the execution name
    arn: str
    workflow: str
    status: str
    started: datetime
    stopped: datetime | None
    input: dict[str, Any]
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    steps: list[Step] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        return (self.stopped - self.started).total_seconds() if self.stopped else None

    @property
    def subject(self) -> str:
        """What the run is about, in a few words (for ingest: dataset and file)."""
        if "key" in self.input:
            return f"{self.input.get('dataset', '?')}: {self.input['key'].rsplit('/', 1)[-1]}"
        detail = self.input.get("detail")
        if isinstance(detail, dict) and "ModelPackageGroupName" in detail:  # a deploy started by the registry
            group = detail["ModelPackageGroupName"]
            return f"{group} v{detail.get('ModelPackageVersion')} {detail.get('ModelApprovalStatus')}"
        return ", ".join(f"{k}={v}" for k, v in list(self.input.items())[:2])

    @property
    def end_state(self) -> str | None:
        return self.steps[-1].name if self.steps else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = self.seconds
        data["subject"] = self.subject
        data["end_state"] = self.end_state
        return data


def list_runs(env: str, workflow: str | None = None, limit: int = 20) -> list[Run]:
    sfn = aws.client("stepfunctions")
    runs: list[Run] = []
    for name, arn in deployed_workflows(env, workflow).items():
        # newest first, page by page, up to ``limit`` per workflow
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=arn, PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 1000)}
        )
        for page in pages:
            for item in page["executions"]:
                runs.append(describe_run(item["executionArn"], workflow=name, with_steps=False))
    runs.sort(key=lambda r: r.started, reverse=True)
    return runs[:limit]


def find_run(env: str, run_id: str) -> Run:
    if run_id.startswith("arn:"):
        return describe_run(run_id)
    sfn = aws.client("stepfunctions")
    for name, arn in deployed_workflows(env).items():
        execution_arn = arn.replace(":stateMachine:", ":execution:") + f":{run_id}"
        try:
            return describe_run(execution_arn, workflow=name)
        except sfn.exceptions.ExecutionDoesNotExist:
            continue
    raise RunNotFoundError(f"no run {run_id!r} in environment {env!r} (see `sagelane runs list`)")


def describe_run(execution_arn: str, *, workflow: str | None = None, with_steps: bool = True) -> Run:
    sfn = aws.client("stepfunctions")
    d = sfn.describe_execution(executionArn=execution_arn)
    machine = d["stateMachineArn"].rsplit(":", 1)[-1]
    run = Run(
        id=d["name"],
        arn=execution_arn,
        workflow=workflow or _workflow_of(machine),
        status=d["status"],
        started=d["startDate"],
        stopped=d.get("stopDate"),
        input=_json(d.get("input")),
        output=_json(d["output"]) if d.get("output") else None,
        error=d.get("error"),
        cause=d.get("cause"),
    )
    if with_steps:
        run.steps = list(_steps(sfn, execution_arn))
    return run


def _workflow_of(machine_name: str) -> str:
    lowered = machine_name.lower()
    # "backfill" first: its machine lives in the Ingest stack, so its name holds "ingest" too
    return next((w for w in sorted(WORKFLOWS, key=lambda w: w != "backfill") if w in lowered), machine_name)


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


def _steps(sfn: Any, execution_arn: str) -> Iterator[Step]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    open_steps: list[Step] = []
    for event in events:
        kind = event["type"]
        if "stateEnteredEventDetails" in event:
            step = Step(event["stateEnteredEventDetails"]["name"], event["timestamp"], None, "running")
            open_steps.append(step)
            yield step
        elif open_steps and kind.endswith("Failed") and kind != "ExecutionFailed":
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("FailedEventDetails")), {})
            open_steps[-1].status = "failed"
            open_steps[-1].error = details.get("error")
            open_steps[-1].cause = details.get("cause")
        elif "stateExitedEventDetails" in event and open_steps:
            step = open_steps.pop()
            step.seconds = (event["timestamp"] - step.entered).total_seconds()
            step.status = "caught" if step.status == "failed" else "succeeded"
            step.output = _json(event["stateExitedEventDetails"].get("output"))
        elif kind == "ExecutionFailed" and open_steps:
            step = open_steps.pop()
            step.status = "failed"
            details = event.get("executionFailedEventDetails", {})
            step.error, step.cause = details.get("error"), details.get("cause")


def wait_for(
    find: Callable[[], str | None],
    *,
    timeout: float,
    on_progress: Callable[[Run, Step], None] | None = None,
    interval: float = 0.2,
) -> Run:
    """Wait until ``find`` names an execution, then until it ends. Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    arn = None
    while arn is None:
        arn = find()
        if arn is None:
            if time.monotonic() > deadline:
                raise TimeoutError("no run started for it")
            time.sleep(interval)
    seen = 0
    while True:
        run = describe_run(arn)
        if on_progress:
            for step in run.steps[seen:]:
                on_progress(run, step)
            seen = len(run.steps)
        if run.status != "RUNNING":
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run.id} still running")
        time.sleep(interval)


def find_ingest_execution(env: str, *, bucket: str, key: str, version_id: str | None, since: datetime) -> str | None:
    """The ingest execution started for this object version (uploaded at ``since``), if any yet."""
    sfn = aws.client("stepfunctions")
    arn = workflow_arn(env, "ingest")
    for item in sfn.list_executions(stateMachineArn=arn, maxResults=100)["executions"]:
        if item["startDate"] < since - timedelta(seconds=30):  # newest first: older ones cannot be it
            break
        data = _json(sfn.describe_execution(executionArn=item["executionArn"]).get("input"))
        if data.get("bucket") == bucket and data.get("key") == key and data.get("version_id") == version_id:
            return item["executionArn"]
    return None


@dataclass
class IngestOutcome:
    """How an ingest run ended, in the terms of the lake."""

    verdict: str  # curated | duplicate | quarantined | refused | failed | running
    message: str
    report: str | None = None
    location: str | None = None  # curated Parquet or quarantined copy

    @property
    def ok(self) -> bool:
        return self.verdict in ("curated", "duplicate")


def ingest_outcome(run: Run) -> IngestOutcome:
    data: dict[str, Any] = run.output or {}
    for step in reversed(run.steps):
        if step.output:
            data = step.output
            break
    validation = data.get("validation") or {}
    report = validation.get("report_html")
    if run.status == "RUNNING":
        return IngestOutcome("running", f"still running ({run.end_state})")
    if run.status == "SUCCEEDED" and run.end_state == "AlreadyIngested":
        return IngestOutcome("duplicate", "this object version was ingested before: nothing done")
    if run.status == "SUCCEEDED":
        curated = (data.get("curation") or {}).get("curated_uri")
        return IngestOutcome("curated", f"{validation.get('summary', 'curated')}", report, curated)
    if run.error == "DataValidationFailed":
        where = (data.get("quarantine") or {}).get("quarantine_uri")
        return IngestOutcome("quarantined", run.cause or "rejected", report, where)
    if run.error == "FileTooLarge":
        return IngestOutcome("refused", run.cause or "file too large for the Lambda engine")
    return IngestOutcome("failed", f"{run.error}: {run.cause}", report)
