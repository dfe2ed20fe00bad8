"""Load on the embedded AWS: a burst of 200 files, and two datasets at once.

Every file ends curated or quarantined exactly once (none lost, none processed twice, even when EventBridge
delivers events again), and the burst trains each model once.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import boto3
import pytest

from sagelane.runs import describe_run, list_runs
from sagelane.samples import churn_frame, write_frame
from tests.e2e.conftest import settle

pytestmark = pytest.mark.slow


def bucket(zone: str) -> str:
    return next(
        b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(f"sagelane-dev-{zone}-")
    )


def keys(zone: str, prefix: str) -> list[str]:
    s3 = boto3.client("s3")
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket(zone), Prefix=prefix):
        found += [o["Key"] for o in page.get("Contents", [])]
    return found


def complete_rows(csv) -> tuple[str, list[str]]:
    """The sample's header and its rows without a missing value (any 60 of them make a valid file)."""
    header, *rows = csv.read_text().splitlines()
    return header, [r for r in rows if all(v not in ("", "NA") for v in r.split(","))]


def trainings(model: str) -> list:
    runs = [r for r in list_runs("dev", "train", limit=1000) if r.input.get("model") == model]
    return [describe_run(r.arn, workflow="train") for r in runs]


def lineage_files(model: str) -> list[str]:
    """The data files in the lineage of the model's newest version."""
    sagemaker = boto3.client("sagemaker")
    packages = sagemaker.list_model_packages(ModelPackageGroupName=f"sagelane-dev-{model}")["ModelPackageSummaryList"]
    package = max(packages, key=lambda p: p["ModelPackageVersion"])
    metadata = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])[
        "CustomerMetadataProperties"
    ]
    where, key = metadata["lineage"].removeprefix("s3://").split("/", 1)
    lineage = json.loads(boto3.client("s3").get_object(Bucket=where, Key=key)["Body"].read())
    return [d["uri"] for d in lineage["data"]]


# The embedded AWS runs every Lambda of the burst in one process (~0.8 s a file on 2 cores: ~3 minutes for 200
# files), where AWS runs them side by side in seconds. The burst's environment waits long enough before reading
# the data (training.coalesce_seconds, 120 s in prod) for the whole burst to be one training, as on AWS.
BURST_COALESCE_SECONDS = 300


@pytest.fixture
def patient(root, tmp_path_factory, monkeypatch, capsys):
    from sagelane.local.runtime import stacks_in_order
    from sagelane.local.server import EmbeddedAWS
    from tests.synth import synthesize

    outdir = tmp_path_factory.mktemp("cdk-dev-burst")
    synthesize(root, "dev", outdir, training={"coalesce_seconds": BURST_COALESCE_SECONDS})
    monkeypatch.chdir(root)
    with EmbeddedAWS(outdir, stacks=stacks_in_order(outdir), log_dir=outdir / "logs") as cloud:
        yield cloud


def test_a_burst_of_200_files_each_ends_curated_or_quarantined_once_and_trains_once(patient, penguins_csv, tmp_path):
    served = patient
    # given 200 small files dropped at once, every tenth one bad, and 20 of the events delivered twice
    header, rows = complete_rows(penguins_csv)
    s3 = boto3.client("s3")
    raw = bucket("raw")
    started = time.perf_counter()
    for i in range(200):
        part = [rows[(i * 7 + j) % len(rows)] for j in range(60)]
        if i % 10 == 0:
            part[0] = part[0].replace("Adelie", "Emperor").replace("Gentoo", "Emperor").replace("Chinstrap", "Emperor")
        path = tmp_path / f"part-{i:03}.csv"
        path.write_text("\n".join([header, *part]) + "\n")
        s3.upload_file(str(path), raw, f"incoming/penguins/{path.name}")
    deadline = time.monotonic() + 120
    while len(originals := [d for d in list(served.cloud.deliveries) if "key" in d.input]) < 200:
        assert time.monotonic() < deadline, f"only {len(originals)} of 200 S3 events delivered"
        time.sleep(0.2)
    for delivery in originals[:20]:
        served.cloud.deliver(delivery.event)
    while any(r.status == "RUNNING" for r in list_runs("dev", "ingest", limit=1000)):
        time.sleep(0.5)
    burst = time.perf_counter() - started
    assert burst < BURST_COALESCE_SECONDS * 0.8, f"the burst took {burst:.0f} s: too close to the coalescing wait"
    settle(600, quiet=5)
    seconds = time.perf_counter() - started

    # then 220 runs, and each of the 200 files validated once: curated (180) or quarantined (20)
    runs = list_runs("dev", "ingest", limit=1000)
    outcomes = sorted((r.status, r.error) for r in runs)
    failed = [describe_run(r.arn, workflow="ingest") for r in runs if r.error not in (None, "DataValidationFailed")]
    unexpected = [(r.subject, [(s.name, s.error, s.cause) for s in r.steps if s.error]) for r in failed]
    summary = f"{Counter(outcomes)}; unexpected failures: {unexpected}"
    assert len(runs) == 220, summary
    validate = next(f for f in served.cloud.functions.functions.values() if "Validate" in f.name)
    assert validate.invocations == 200, summary
    assert outcomes.count(("SUCCEEDED", None)) == 200  # 180 curated + 20 replays that stopped at the claim
    assert outcomes.count(("FAILED", "DataValidationFailed")) == 20
    curated = [k for k in keys("curated", "data/penguins/") if k.endswith(".parquet")]
    quarantined = [k for k in keys("quarantine", "penguins/") if k.endswith(".csv")]
    assert len(curated) == 180 and len(quarantined) == 20
    names = {k.rsplit("/", 1)[-1].split("-")[1] for k in curated + quarantined}  # part-NNN-<hash>...
    assert len(names) == 200, "a file was lost or processed twice"
    assert len(keys("raw", "incoming/penguins/")) == 200  # originals kept

    # and the burst trained the model once, on every curated file
    ended = sorted(r.end_state or r.status for r in trainings("penguins-species"))
    assert ended.count("Registered") == 1, ended
    assert set(ended) <= {"Registered", "Coalesced"}, ended
    assert len(lineage_files("penguins-species")) == 180
    print(f"\n200-file burst (+20 replays): ingested in {burst:.0f} s, trained once in {seconds:.0f} s; {ended}")


def test_two_datasets_at_once_do_not_interfere(served, penguins_csv, tmp_path):
    s3 = boto3.client("s3")
    raw = bucket("raw")
    header, rows = complete_rows(penguins_csv)
    for i in range(15):
        penguins = tmp_path / f"penguins-{i:02}.csv"
        penguins.write_text("\n".join([header, *[rows[(i * 13 + j) % len(rows)] for j in range(60)]]) + "\n")
        churn = write_frame(churn_frame(3000, seed=100 + i), tmp_path / f"churn-{i:02}.csv")
        s3.upload_file(str(penguins), raw, f"incoming/penguins/{penguins.name}")
        s3.upload_file(str(churn), raw, f"incoming/churn/{churn.name}")
    settle(600, quiet=5)

    runs = list_runs("dev", "ingest", limit=1000)
    assert len(runs) == 30 and all(r.status == "SUCCEEDED" for r in runs)
    penguins_parts = [k for k in keys("curated", "data/penguins/") if k.endswith(".parquet")]
    churn_parts = [k for k in keys("curated", "data/churn/") if k.endswith(".parquet")]
    assert len(penguins_parts) == 15 and all("/penguins-" in k for k in penguins_parts)
    assert len(churn_parts) == 15 and all("/churn-" in k for k in churn_parts)
    # each model's newest version was trained on all of its own dataset's files and none of the other's (with
    # a slow burst, a retraining after the first run's data cutoff picks up the late files)
    for model, dataset in (("penguins-species", "penguins"), ("churn-xgboost", "churn")):
        runs = trainings(model)
        ended = [r.end_state for r in runs]
        failures = [(r.id, r.error, r.cause) for r in runs if r.end_state not in ("Registered", "Coalesced")]
        assert 1 <= ended.count("Registered") <= 2 and not failures, (model, ended, failures)
        files = lineage_files(model)
        assert len(files) == 15 and all(f"/data/{dataset}/" in f for f in files), (model, ended, files)
