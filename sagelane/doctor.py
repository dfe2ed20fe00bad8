"""``sagelane doctor``: is a deployed environment healthy, and if not, what is wrong and how to fix it.

Read-only checks, through the same AWS APIs on AWS and on the embedded AWS:

- **stacks**: every stack of the environment exists, its last deployment completed, and (when a cloud
  assembly is at hand) its template is the one synthesized from this checkout;
- **buckets**: the lake's zones are encrypted with KMS and versioned;
- **alarms**: none of the kit's alarms is in ALARM (each kind comes with its runbook line);
- **endpoints**: each model with an Approved version has its endpoint InService, serving that version;
- **runs**: the latest run of each workflow and subject (a file, a model) did not fail unexpectedly
  (a quarantined file or a rejected candidate is the kit working, not a fault).

A check that cannot read what it needs (access denied, throttled) is itself a problem, named as such.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from sagelane import alarms, aws
from sagelane.config import EnvConfig
from sagelane.errors import SageLaneError

Status = Literal["ok", "warn", "problem"]

# Run endings that are the kit doing its job: reported, not counted as problems.
EXPECTED_ENDINGS = {
    "DataValidationFailed": "quarantined with a report",
    "CandidateRejected": "candidate not registered (thresholds or champion)",
}
COMPLETE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
ZONES = ("raw", "curated", "quarantine", "artifacts")
# A placeholder the embedded AWS registers for each stack it provisioned, with the template's fingerprint.
PROVISIONED_METADATA = "SageLane::ProvisionedLocally"
STUCK_AFTER = timedelta(hours=6)


@dataclass
class Finding:
    area: str  # stacks | buckets | alarms | endpoints | runs
    subject: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Diagnosis:
    env: str
    where: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "problem"]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "where": self.where,
            "healthy": self.healthy,
            "findings": [asdict(f) for f in self.findings],
        }

    def render(self) -> str:
        lines = [f"sagelane doctor: environment {self.env} ({self.where})"]
        marks = {"ok": "ok", "warn": "warn", "problem": "PROBLEM"}
        for f in self.findings:
            lines.append(f"  {marks[f.status]:<8} {f.area:<10} {f.subject}: {f.detail}")
            if f.fix and f.status != "ok":
                lines.append(f"  {'':<8} {'':<10} fix: {f.fix}")
        warnings = sum(f.status == "warn" for f in self.findings)
        if self.healthy:
            lines.append(f"healthy ({len(self.findings)} checks, {warnings} warning(s))")
        else:
            lines.append(f"{len(self.problems)} problem(s), {warnings} warning(s): see the fix lines above")
        return "\n".join(lines)


def template_fingerprint(template: dict[str, Any] | str) -> str:
    """sha256 of a template's canonical JSON (key order and whitespace do not count)."""
    text = template if isinstance(template, str) else json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def diagnose(config: EnvConfig, *, assembly: Path | None = None, runs: int = 25) -> Diagnosis:
    """Every check on ``config``'s environment, wherever the AWS clients point."""
    diagnosis = Diagnosis(env=config.name, where=aws.local_endpoint() or "AWS")
    checks: list[tuple[str, Callable[[], Iterator[Finding]]]] = [
        ("stacks", lambda: check_stacks(config, assembly)),
        ("buckets", lambda: check_buckets(config.name)),
        ("alarms", lambda: check_alarms(config.name)),
        ("endpoints", lambda: check_endpoints(config)),
        ("runs", lambda: check_runs(config.name, limit=runs)),
    ]
    for area, check in checks:
        try:
            diagnosis.findings.extend(check())
        except (ClientError, BotoCoreError) as exc:
            diagnosis.findings.append(
                Finding(
                    area,
                    "(check)",
                    "problem",
                    f"could not be checked: {exc}",
                    "run the doctor with credentials that may read the environment (the deploy role, or a "
                    "read-only role); on the embedded AWS, set AWS_ENDPOINT_URL to what `sagelane local up` printed",
                )
            )
    return diagnosis


# --- stacks ----------------------------------------------------------------------------------------------


def check_stacks(config: EnvConfig, assembly: Path | None) -> Iterator[Finding]:
    cfn = aws.client("cloudformation")
    deploy = f"deploy it: `npx cdk deploy --all -c env={config.name}` (or merge to main for the pipeline)"
    for name in config.stack_names():
        try:
            (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if "does not exist" not in str(exc):
                raise
            yield Finding("stacks", name, "problem", "not deployed", deploy)
            continue
        status = stack["StackStatus"]
        if status.endswith("_IN_PROGRESS"):
            yield Finding(
                "stacks", name, "warn", f"{status}: a deployment is under way", "run the doctor again after it"
            )
            continue
        if status not in COMPLETE:
            reason = stack.get("StackStatusReason", "")
            yield Finding(
                "stacks",
                name,
                "problem",
                f"{status}{': ' + reason if reason else ''}",
                f"read the events (`aws cloudformation describe-stack-events --stack-name {name}`), fix the cause, "
                "and deploy again",
            )
            continue
        yield _current(cfn, name, status, assembly, deploy)


def _current(cfn: Any, name: str, status: str, assembly: Path | None, deploy: str) -> Finding:
    synthesized = assembly / f"{name}.template.json" if assembly else None
    if synthesized is None or not synthesized.is_file():
        return Finding("stacks", name, "ok", f"{status} (no cloud assembly to compare with)")
    body = cfn.get_template(StackName=name)["TemplateBody"]
    if isinstance(body, str):
        with contextlib.suppress(ValueError):  # a YAML template stays text: fingerprinted as such
            body = json.loads(body)
    provisioned = body.get("Metadata", {}).get(PROVISIONED_METADATA) if isinstance(body, dict) else None
    deployed = provisioned["TemplateSha256"] if provisioned else template_fingerprint(body)
    wanted = template_fingerprint(json.loads(synthesized.read_text(encoding="utf-8")))
    if deployed == wanted:
        return Finding("stacks", name, "ok", f"{status}, the same template as {synthesized.parent}")
    return Finding(
        "stacks",
        name,
        "problem",
        f"{status}, but its template differs from {synthesized} (an undeployed change, or a stale assembly)",
        f"`npx cdk diff {name}` shows the difference; {deploy}",
    )


# --- buckets ---------------------------------------------------------------------------------------------


def check_buckets(env: str) -> Iterator[Finding]:
    from sagelane.runs import NotDeployedError, parameter

    s3 = aws.client("s3")
    for zone in ZONES:
        try:
            bucket = parameter(f"/sagelane/{env}/lake/{zone}-bucket")
        except NotDeployedError:
            yield Finding(
                "buckets", zone, "problem", "the zone's bucket is not published in SSM", "deploy the DataLake stack"
            )
            continue
        wrong = []
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            algorithms = {r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules}
            if algorithms != {"aws:kms"}:
                wrong.append(f"default encryption is {', '.join(sorted(algorithms))}, not the lake's KMS key")
        except ClientError as exc:
            if "ServerSideEncryptionConfigurationNotFound" not in str(exc):
                raise
            wrong.append("no default encryption")
        versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
        if versioning != "Enabled":
            wrong.append(f"versioning is {versioning}")
        if wrong:
            yield Finding(
                "buckets",
                bucket,
                "problem",
                "; ".join(wrong),
                "someone changed the bucket outside CloudFormation: deploy the DataLake stack again to restore "
                "it (and find who did it in CloudTrail)",
            )
        else:
            yield Finding("buckets", bucket, "ok", "KMS-encrypted, versioned")


# --- alarms ----------------------------------------------------------------------------------------------


def check_alarms(env: str) -> Iterator[Finding]:
    cloudwatch = aws.client("cloudwatch")
    found: list[dict[str, Any]] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=alarms.prefix(env)):
        found.extend(page["MetricAlarms"])
    firing = [a for a in found if a["StateValue"] == "ALARM"]
    for alarm in firing:
        since = alarm.get("StateUpdatedTimestamp")
        when = f" since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if isinstance(since, datetime) else ""
        fix = alarms.runbook(alarm["AlarmName"], env) or alarm.get("AlarmDescription") or "see the alarm's metric"
        yield Finding("alarms", alarm["AlarmName"], "problem", f"in ALARM{when}: {alarm.get('StateReason', '')}", fix)
    if not firing:
        quiet = sum(a["StateValue"] == "INSUFFICIENT_DATA" for a in found)
        yield Finding(
            "alarms", alarms.prefix(env) + "*", "ok", f"{len(found)} alarms, none in ALARM ({quiet} without data)"
        )


# --- endpoints -------------------------------------------------------------------------------------------


def check_endpoints(config: EnvConfig) -> Iterator[Finding]:
    from sagelane.client import endpoint_name, live_version
    from sagelane.registry import champion

    sagemaker = aws.client("sagemaker")
    env = config.name
    for model in config.models:
        name = endpoint_name(env, model.name)
        try:
            approved = champion(env, model.name)
        except SageLaneError as exc:  # no package group: the Training stack is missing
            yield Finding("endpoints", name, "problem", str(exc), f"deploy the {config.stack_name('Training')} stack")
            continue
        if approved is None:
            yield Finding("endpoints", name, "ok", "no Approved version yet: nothing to serve")
            continue
        deploy = f"`sagelane models deploy {model.name} {approved.version} --env {env}`"
        try:
            endpoint = sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as exc:
            if "Could not find" not in str(exc) and "ValidationException" not in str(exc):
                raise
            yield Finding(
                "endpoints",
                name,
                "problem",
                f"version {approved.version} is Approved but the endpoint does not exist",
                f"see why its deploy run failed (`sagelane runs list --workflow deploy --env {env}`), then {deploy}",
            )
            continue
        status = endpoint["EndpointStatus"]
        if status in ("Creating", "Updating", "SystemUpdating", "RollingBack"):
            yield Finding("endpoints", name, "warn", f"{status}", "run the doctor again once it is InService")
            continue
        if status != "InService":
            reason = endpoint.get("FailureReason", "")
            yield Finding(
                "endpoints",
                name,
                "problem",
                f"{status}{': ' + reason if reason else ''}",
                f"fix the cause, then {deploy}",
            )
            continue
        live = live_version(env, model.name)
        if live != approved.version:
            yield Finding(
                "endpoints",
                name,
                "problem",
                f"InService with version {live if live is not None else '?'}, but the latest Approved is "
                f"{approved.version}",
                f"see its deploy runs (`sagelane runs list --workflow deploy --env {env}`); {deploy}",
            )
            continue
        yield Finding("endpoints", name, "ok", f"InService, serving Approved version {approved.version}")


# --- runs ------------------------------------------------------------------------------------------------


def _subject(run: Any) -> str:
    detail = run.input.get("detail")
    if isinstance(detail, dict) and "ModelPackageGroupName" in detail:
        return detail["ModelPackageGroupName"]
    for key in ("key", "model", "prefix", "dataset"):
        if key in run.input:
            return f"{key}={run.input[key]}"
    return run.id


def check_runs(env: str, *, limit: int) -> Iterator[Finding]:
    from sagelane.runs import WORKFLOWS, NotDeployedError, list_runs

    now = datetime.now(UTC)
    for workflow in WORKFLOWS:
        try:
            recent = list_runs(env, workflow, limit=limit)
        except NotDeployedError:
            continue  # a workflow this environment does not have (no models: no train, no deploy)
        latest: dict[str, Any] = {}
        for run in recent:  # newest first: the first run of a subject is its latest
            latest.setdefault(_subject(run), run)
        outcomes: Counter[str] = Counter()
        for subject, run in latest.items():
            if run.status == "SUCCEEDED":
                outcomes["succeeded"] += 1
            elif run.status == "RUNNING":
                if now - run.started > STUCK_AFTER:
                    yield Finding(
                        "runs",
                        f"{workflow} {run.id[:8]}",
                        "warn",
                        f"running for {(now - run.started).total_seconds() / 3600:.0f} h ({subject})",
                        f"`sagelane runs show {run.id[:8]} --env {env}` shows where it waits",
                    )
                outcomes["running"] += 1
            elif run.error in EXPECTED_ENDINGS:
                outcomes[f"{run.error} ({EXPECTED_ENDINGS[run.error]})"] += 1
            else:
                yield Finding(
                    "runs",
                    f"{workflow} {run.id[:8]}",
                    "problem",
                    f"{run.status} {run.error or ''} on {subject}: {(run.cause or '')[:300]}".rstrip(": "),
                    f"`sagelane runs show {run.id[:8]} --env {env}` shows the failing step; fix the cause and run it "
                    "again (push the file again, `sagelane train`, or `sagelane models deploy`)",
                )
        if outcomes:
            summary = ", ".join(f"{n} {what}" for what, n in outcomes.most_common())
            yield Finding("runs", workflow, "ok", f"latest run per subject: {summary}")
        elif not recent:
            yield Finding("runs", workflow, "ok", "no runs yet")
