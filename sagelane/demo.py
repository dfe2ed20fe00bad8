"""``sagelane demo``: the lifecycle on the embedded AWS, from a fresh checkout, with no AWS account.

Synthesizes the CDK app, starts the embedded AWS provisioned from it, drops sample files into the raw
zone — a good penguins table, a good and a defective churn export, a truncated upload — follows the
ingest runs they start, replays one S3 event to show it runs once, follows the trainings the curated
files trigger (real training code, run as SageMaker would run it) into the Model Registry, approves the
penguins model — which deploys it to its serverless endpoint — asks the live endpoint for predictions,
then closes the monitoring loop on the churn model (instance endpoint, captured traffic, drifted
customers, drift alarm, retraining), lists the runs and copies the reports next to you.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagelane import aws
from sagelane.config import find_root, load_project
from sagelane.local.runtime import existing_assembly, stacks_in_order, synthesize
from sagelane.local.server import EmbeddedAWS


@dataclass(frozen=True)
class Sample:
    dataset: str
    path: Path
    expected: str  # the ingest verdict the demo expects


def run_demo(*, workdir: Path, enforce: bool = True, assembly: Path | None = None) -> int:
    from sagelane.cli import follow_ingest
    from sagelane.client import Predictor, endpoint_name
    from sagelane.data import push
    from sagelane.monitoring.report import render_html
    from sagelane.registry import list_versions, set_status
    from sagelane.runs import list_runs
    from sagelane.samples import PENGUIN_EXAMPLES, churn_frame, write_frame
    from sagelane.serving.local import load_version

    started = time.perf_counter()
    root = find_root()
    env = "dev"
    project = load_project(env, root)
    workdir = workdir if workdir.is_absolute() else root / workdir
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    print("SageLane demo: the lifecycle on the embedded AWS (moto + local compute; no account, no Docker)")

    t = time.perf_counter()
    if assembly is None:
        print("1. Synthesizing the CDK app (dev, cdk-nag on) ...", flush=True)
        assembly = synthesize(env, workdir / "cdk.out", root)
    else:
        print(f"1. Using the cloud assembly {assembly} (synthesized before) ...", flush=True)
        assembly = existing_assembly(assembly.resolve(), env, root)
    stacks = stacks_in_order(assembly)
    print(f"   {len(stacks)} stacks ({', '.join(stacks)}) in {time.perf_counter() - t:.1f} s")

    truncated = data / "penguins-truncated.csv.gz"
    truncated.write_bytes(gzip.compress((root / "samples" / "penguins.csv").read_bytes())[:900])
    samples = [
        Sample("penguins", root / "samples" / "penguins.csv", "curated"),
        Sample("churn", write_frame(churn_frame(20_000), data / "churn-2026-11.csv"), "curated"),
        Sample(
            "churn",
            write_frame(churn_frame(20_000, seed=8, defects=True), data / "churn-defects.parquet"),
            "quarantined",
        ),
        Sample("penguins", truncated, "quarantined"),
    ]

    t = time.perf_counter()
    print("2. Starting the embedded AWS, provisioned from the cloud assembly ...", flush=True)
    if not enforce:
        print("   IAM and request validation are OFF (--no-enforce): green here does not mean green on AWS")
    with EmbeddedAWS(assembly, stacks=stacks, log_dir=workdir / "logs", enforce=enforce) as cloud:
        assert cloud.summary is not None and cloud.cloud is not None
        created = sum(cloud.summary.created.values())
        print(f"   ready at {cloud.endpoint}: {created} resources in {time.perf_counter() - t:.1f} s")

        print("3. Dropping files under incoming/<dataset>/ in the raw zone (each starts an ingest run):")
        pushed = [(sample, push(env, sample.dataset, sample.path)) for sample in samples]
        surprises = 0
        reports: list[tuple[str, str]] = []
        for sample, upload in pushed:
            print(f"   {sample.dataset}: {sample.path.name}")
            outcome = follow_ingest(env, upload, timeout=120, out=io.StringIO())
            mark = "ok" if outcome.verdict == sample.expected else "!!"
            surprises += outcome.verdict != sample.expected
            print(f"     {mark} {outcome.verdict.upper()}: {outcome.message}")
            if outcome.location:
                print(f"        {outcome.location}")
            if outcome.report:
                reports.append((sample.path.name.split(".")[0], outcome.report))

        print("4. The same S3 event delivered again (EventBridge delivers at least once):")
        first = next(d for d in cloud.cloud.deliveries if d.input.get("key", "").endswith("/penguins.csv"))
        (again,) = cloud.cloud.deliver(first.event)
        replay = cloud.cloud.wait(again.execution_arn or "")
        end = "AlreadyIngested" if replay["status"] == "SUCCEEDED" else replay["status"]
        print(f"     ok the second run ended at {end}: nothing validated or written twice")

        print("5. Training: each curated file triggered its dataset's models (runs coalesce per model):", flush=True)
        trained = _wait_for_training(env, timeout=300)
        for run in trained:
            registered = (run.output or {}).get("registered") or {}
            detail = f"version {registered.get('version')} {registered.get('status')}" if registered else run.end_state
            seconds = f"{run.seconds:.1f} s" if run.seconds is not None else "-"
            print(f"     {run.input.get('model'):<18} {run.status:<9} {seconds:>7}  {detail}")
        for model in project.config.models:
            for version in list_versions(env, model.name):
                metrics = ", ".join(f"{k} {v:.3f}" for k, v in version.metrics.items() if k != "rows")
                print(f"     sagelane models list {model.name}: v{version.version} {version.status} ({metrics})")

        print("6. Approval (sagelane models approve penguins-species 1):")
        approved = set_status(env, "penguins-species", 1, "Approved", comment="approved by the demo")
        print(f"     penguins-species version {approved.version} is now {approved.status}")
        surprises += approved.status != "Approved"

        print("7. Deploy on approval: EventBridge started the deploy workflow (sagelane runs list --workflow deploy):")
        deploy = _wait_for_deploy(env, timeout=120)
        plan = (deploy.output or {}).get("plan", {})
        seconds = f"{deploy.seconds:.1f} s" if deploy.seconds is not None else "-"
        print(f"     {deploy.status} {deploy.end_state} in {seconds}: {plan.get('reason', deploy.error)}")
        surprises += deploy.end_state != "Deployed"
        endpoint = aws.client("sagemaker").describe_endpoint(EndpointName=endpoint_name(env, "penguins-species"))
        name, status, config = (endpoint[k] for k in ("EndpointName", "EndpointStatus", "EndpointConfigName"))
        print(f"     endpoint {name} {status}, serving config {config}")

        print("8. Predictions from the live endpoint (sagelane predict penguins-species --json ...):")
        predictions = Predictor("penguins-species", env=env).predict(PENGUIN_EXAMPLES)
        for record, prediction in zip(PENGUIN_EXAMPLES, predictions, strict=True):
            shown = {k: record[k] for k in ("island", "bill_length_mm", "flipper_length_mm")}
            probability = prediction["probabilities"][prediction["prediction"]]
            print(f"     {shown} -> {prediction['prediction']} (p={probability:.3f})")
        with tempfile.TemporaryDirectory(prefix="sagelane-demo-serve-") as tmp:
            loaded, chosen = load_version(env, "penguins-species", None, Path(tmp))
            body, _ = loaded.invoke(json.dumps(PENGUIN_EXAMPLES).encode(), "application/json", "application/json")
        same = json.loads(body) == predictions
        print(f"     identical to version {chosen.version}'s artifact loaded as its container loads it: {same}")
        surprises += not same

        print("9. sagelane doctor (stacks, buckets, alarms, endpoints, latest runs):")
        surprises += not _doctor(project, assembly, expect_alarm=None)

        print("10. The monitoring loop on churn-xgboost (an instance endpoint whose traffic SageMaker captures):")
        set_status(env, "churn-xgboost", 1, "Approved", comment="approved by the demo")
        deploy = _wait_for_deploy(env, timeout=120, model="churn-xgboost")
        print(f"     approved version 1 -> deploy {deploy.end_state}: endpoint {endpoint_name(env, 'churn-xgboost')}")
        churn = Predictor("churn-xgboost", env=env)
        customers = churn_frame(2000, seed=21).drop("churned")
        churn.predict_csv(customers.write_csv())
        stable = _monitor(env, "churn-xgboost")
        print(f"     2,000 ordinary customers -> sagelane monitor: max PSI {stable.max_psi:.3f} (stable)")
        import polars as pl

        churn.predict_csv(customers.with_columns(pl.col("monthly_charges") * 3).write_csv())
        drifted = _monitor(env, "churn-xgboost")
        worst = max(drifted.results, key=lambda d: d.psi)
        print(f"     2,000 customers paying 3x as much -> max PSI {drifted.max_psi:.3f} ({worst.name})")
        retrain = _wait_for_retraining(env, "churn-xgboost", timeout=120)
        alarm = retrain.input.get("alarm")
        print(f"     alarm {alarm} -> ALARM -> retraining {retrain.status} {retrain.end_state}")
        surprises += stable.max_psi >= 0.25 or retrain.end_state not in ("Registered", "CandidateRejected")
        drift_html = workdir / "reports" / "churn-xgboost-drift.html"
        drift_html.parent.mkdir(parents=True, exist_ok=True)
        drift_html.write_text(render_html(drifted, threshold=0.25), encoding="utf-8")
        print(f"     drift report: {drift_html.relative_to(root)}")

        print("11. sagelane doctor again: the drift is named, with what to do about it:")
        surprises += not _doctor(project, assembly, expect_alarm=f"{endpoint_name(env, 'churn-xgboost')}-drift")

        print("12. Runs (sagelane runs list):")
        for run in list_runs(env):
            seconds = f"{run.seconds:.2f} s" if run.seconds is not None else "-"
            ended = f"  [{run.error}]" if run.error else ""
            print(f"   {run.id[:8]}  {run.workflow:<6} {run.status:<9} {seconds:>7}  {run.subject}{ended}")

        print(f"13. Reports and model cards, copied to {workdir.relative_to(root) / 'reports'}/ :")
        s3 = aws.client("s3")
        for name, uri in reports:
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            local = workdir / "reports" / name / "report.html"
            local.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(local))
            print(f"   {local.relative_to(root)}  <- {uri}")
        for model in project.config.models:
            for version in list_versions(env, model.name):
                if not version.model_data:
                    continue
                bucket, key = version.model_data.removeprefix("s3://").split("/", 1)
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
                    card = tar.extractfile("model_card.html")
                    local = workdir / "reports" / f"{model.name}-v{version.version}" / "model_card.html"
                    local.parent.mkdir(parents=True, exist_ok=True)
                    local.write_bytes(card.read() if card else b"")
                print(f"   {local.relative_to(root)}  <- {version.model_data}")

    print(f"Demo finished in {time.perf_counter() - started:.1f} s.")
    if surprises:
        print(f"{surprises} step(s) did not give the expected result")
        return 1
    return 0


def _doctor(project: Any, assembly: Path, *, expect_alarm: str | None) -> bool:
    """Print what ``sagelane doctor`` finds; True when its only problem is ``expect_alarm`` (or none)."""
    from sagelane.doctor import diagnose

    diagnosis = diagnose(project.config, assembly=assembly)
    areas = sorted({f.area for f in diagnosis.findings})
    print(f"     checked {', '.join(areas)}: {len(diagnosis.findings)} findings")
    for line in diagnosis.render().splitlines()[1:]:
        if not line.startswith("  ok "):
            print(f"   {line}")
    named = [f.subject for f in diagnosis.problems]
    return named == ([expect_alarm] if expect_alarm else [])


def _wait_for_deploy(env: str, *, timeout: float, model: str = "penguins-species"):
    """The model's first deploy run, once it has ended."""
    from sagelane.runs import describe_run, list_runs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [
            r
            for r in list_runs(env, "deploy", limit=10)
            if r.status != "RUNNING" and model in r.input.get("detail", {}).get("ModelPackageGroupName", "")
        ]
        if runs:
            return describe_run(runs[-1].arn, workflow="deploy")
        time.sleep(0.2)
    raise TimeoutError("the deploy run did not finish")


def _monitor(env: str, model: str):
    """What ``sagelane monitor MODEL --hours 1`` (and the scheduled check) does: drift, published."""
    from sagelane.monitoring.monitor import check_model, publish
    from sagelane.runs import parameter

    report = check_model(
        s3=aws.client("s3"),
        sagemaker=aws.client("sagemaker"),
        env=env,
        model=model,
        capture_bucket=parameter(f"/sagelane/{env}/lake/artifacts-bucket"),
        hours=1,
    )
    publish(aws.client("cloudwatch"), env=env, report=report)
    return report


def _wait_for_retraining(env: str, model: str, *, timeout: float):
    """The train run a drift alarm started, once it has ended."""
    from sagelane.runs import describe_run, list_runs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [
            r
            for r in list_runs(env, "train", limit=20)
            if r.input.get("trigger") == "alarm" and r.input.get("model") == model and r.status != "RUNNING"
        ]
        if runs:
            return describe_run(runs[-1].arn, workflow="train")
        time.sleep(0.2)
    raise TimeoutError("no retraining was started by the drift alarm")


def _wait_for_training(env: str, *, timeout: float) -> list:
    """The train runs, once none is running (a run may start another for triggers it coalesced)."""
    from sagelane.runs import describe_run, list_runs

    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        runs = list_runs(env, "train", limit=100)
        quiet = quiet + 1 if runs and all(r.status != "RUNNING" for r in runs) else 0
        if quiet >= 5:  # a second of calm: no run running, none about to start
            return [describe_run(r.arn, workflow="train") for r in sorted(runs, key=lambda r: r.started)]
        time.sleep(0.2)
    raise TimeoutError("training runs did not finish")
