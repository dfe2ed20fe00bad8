"""``sagelane demo``: the lifecycle on the embedded AWS, from a fresh checkout, with no AWS account.

Synthesizes the CDK app, starts the embedded AWS provisioned from it, drops sample files into the raw
zone — a good penguins table, a good and a defective churn export, a truncated upload — follows the
ingest runs they start, replays one S3 event to show it runs once, lists the runs and copies the
reports next to you. Later issues extend it to training, approval, serving and retraining.
"""

from __future__ import annotations

import gzip
import io
import time
from dataclasses import dataclass
from pathlib import Path

from sagelane import aws
from sagelane.config import find_root, load_project
from sagelane.local.runtime import stacks_in_order, synthesize
from sagelane.local.server import EmbeddedAWS


@dataclass(frozen=True)
class Sample:
    dataset: str
    path: Path
    expected: str  # the ingest verdict the demo expects


def run_demo(*, workdir: Path) -> int:
    from sagelane.cli import follow_ingest
    from sagelane.data import push
    from sagelane.runs import list_runs
    from sagelane.samples import churn_frame, write_frame

    started = time.perf_counter()
    root = find_root()
    env = "dev"
    load_project(env, root)
    workdir = workdir if workdir.is_absolute() else root / workdir
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    print("SageLane demo: the ingest lifecycle on the embedded AWS (moto + local compute; no account, no Docker)")

    t = time.perf_counter()
    print("1. Synthesizing the CDK app (dev, cdk-nag on) ...", flush=True)
    assembly = synthesize(env, workdir / "cdk.out", root)
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
    with EmbeddedAWS(assembly, stacks=stacks, log_dir=workdir / "logs") as cloud:
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

        print("5. Runs (sagelane runs list):")
        for run in list_runs(env, "ingest"):
            seconds = f"{run.seconds:.2f} s" if run.seconds is not None else "-"
            ended = f"  [{run.error}]" if run.error else ""
            print(f"   {run.id[:8]}  {run.status:<9} {seconds:>7}  {run.subject}{ended}")

        print(f"6. Reports, copied to {workdir.relative_to(root) / 'reports'}/ :")
        s3 = aws.client("s3")
        for name, uri in reports:
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            local = workdir / "reports" / name / "report.html"
            local.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(local))
            print(f"   {local.relative_to(root)}  <- {uri}")

    print(f"Demo finished in {time.perf_counter() - started:.1f} s.")
    if surprises:
        print(f"{surprises} file(s) did not get the expected verdict")
        return 1
    return 0
