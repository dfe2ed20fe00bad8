"""The train workflow's steps against moto (S3, SageMaker registry), with a real local training job."""

from __future__ import annotations

import json

import boto3
import polars as pl
import pytest
from moto import mock_aws

from sagelane.config import ModelConfig
from sagelane.local.sagemaker import run_job
from sagelane.training.package import source_tarball_bytes
from sagelane.training.steps import Buckets, NoCuratedDataError, champion_of, decide, evaluate, prepare, register
from sagelane.validation import validate_file

REGION = "us-east-1"
GROUP = "sagelane-test-penguins-species"
MODEL = ModelConfig(name="penguins-species", dataset="penguins", algorithm="logistic_regression")


@pytest.fixture
def registry(root, penguins):
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        for bucket in ("curated", "artifacts"):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        s3.put_object(Bucket="artifacts", Key="code/sourcedir.tar.gz", Body=source_tarball_bytes(root / "training"))
        yield s3, sagemaker


def curate(s3, frame: pl.DataFrame, key: str) -> None:
    import io

    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    s3.put_object(Bucket="curated", Key=f"data/penguins/ingest_date=2026-11-23/{key}", Body=buffer.getvalue())


def train_once(s3, sagemaker, penguins, run_id: str, hp_override: dict | None = None):
    prepared = prepare(
        s3=s3,
        sagemaker=sagemaker,
        model=MODEL,
        contract=penguins,
        buckets=Buckets("curated", "artifacts"),
        run_id=run_id,
        group=GROUP,
    )
    hyperparameters = {
        **prepared["hyperparameters"],
        **(hp_override or {}),
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": "s3://artifacts/code/sourcedir.tar.gz",
    }
    outcome = run_job(
        s3,
        {
            "TrainingJobName": prepared["training_job_name"],
            "HyperParameters": hyperparameters,
            "InputDataConfig": [
                {"ChannelName": n, "DataSource": {"S3DataSource": {"S3Uri": uri}}}
                for n, uri in prepared["channels"].items()
            ],
            "OutputDataConfig": {"S3OutputPath": prepared["output_path"]},
        },
    )
    return prepared, outcome


def test_prepare_train_evaluate_register_end_to_end(registry, root, penguins):
    s3, sagemaker = registry
    frame = validate_file(root / "samples" / "penguins.csv", penguins).frame
    curate(s3, frame.head(200), "a.parquet")
    curate(s3, frame.tail(144), "b.parquet")

    prepared, outcome = train_once(s3, sagemaker, penguins, "run-1")

    assert prepared["rows"] == {"train": 241, "validation": 52, "test": 51}
    lineage = json.loads(
        s3.get_object(Bucket="artifacts", Key="training/penguins-species/run-1/lineage.json")["Body"].read()
    )
    assert [d["uri"].rsplit("/", 1)[1] for d in lineage["data"]] == ["a.parquet", "b.parquet"]
    assert all(len(d["sha256"]) == 64 and d["version_id"] for d in lineage["data"])
    assert prepared["champion"] is None
    assert outcome.status == "Completed", outcome.failure_reason

    evaluation = evaluate(s3=s3, prepared=prepared, model=MODEL)
    assert evaluation["accepted"] is True and "no champion to beat" in evaluation["reason"]
    job = {"ModelArtifacts": {"S3ModelArtifacts": outcome.model_artifact}}
    registered = register(
        s3=s3,
        sagemaker=sagemaker,
        prepared=prepared,
        evaluation=evaluation,
        training_job=job,
        group=GROUP,
        model=MODEL,
        inference_image="img:1",
        auto_approve=False,
        code_version="abc123",
    )
    assert registered["status"] == "PendingManualApproval" and registered["version"] == 1
    package = sagemaker.describe_model_package(ModelPackageName=registered["model_package_arn"])
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    meta = package["CustomerMetadataProperties"]
    # SageMaker's constraints hold (the embedded AWS's gate enforces them): a metric an entry
    assert float(meta["metric:accuracy"]) >= 0.9
    assert meta["evaluation"].endswith("/evaluation/registration.json")
    assert meta["lineage"] == "s3://artifacts/training/penguins-species/run-1/lineage.json"
    assert meta["contract_sha256"] == penguins.fingerprint and meta["code_version"] == "abc123"
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == outcome.model_artifact
    # scikit-learn's image keeps its own protobuf: no workaround in its serving environment
    assert package["InferenceSpecification"]["Containers"][0]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert (
        "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"
        not in package["InferenceSpecification"]["Containers"][0]["Environment"]
    )

    # once approved, it is the champion the next candidate must match
    from sagelane import aws, registry

    aws.reset()
    approved = registry.set_status("test", "penguins-species", 1, "Approved", comment="looks good")
    assert approved.status == "Approved" and approved.metrics["accuracy"] == float(meta["metric:accuracy"])
    champion = champion_of(sagemaker, GROUP)
    assert champion["version"] == 1 and champion["metrics"]["accuracy"] >= 0.9
    prepared2, _ = train_once(s3, sagemaker, penguins, "run-2", {"C": "0.0001"})  # a much weaker model
    assert json.loads(prepared2["hyperparameters"]["champion_metrics"]) == champion["metrics"]
    evaluation2 = evaluate(s3=s3, prepared=prepared2, model=MODEL)
    assert evaluation2["accepted"] is False
    assert (
        "below the contract's thresholds" in evaluation2["reason"] or "worse than the champion" in evaluation2["reason"]
    )


def test_no_curated_data_is_a_named_error(registry, penguins):
    s3, sagemaker = registry
    with pytest.raises(NoCuratedDataError, match="no curated data for penguins"):
        prepare(
            s3=s3,
            sagemaker=sagemaker,
            model=MODEL,
            contract=penguins,
            buckets=Buckets("curated", "artifacts"),
            run_id="r",
            group=GROUP,
        )


def test_a_failing_job_reports_the_scripts_reason(registry, root, penguins):
    s3, sagemaker = registry
    curate(s3, validate_file(root / "samples" / "penguins.csv", penguins).frame, "a.parquet")
    _, outcome = train_once(s3, sagemaker, penguins, "run-x", {"algorithm": "quantum"})
    assert outcome.status == "Failed"
    assert outcome.failure_reason.startswith("AlgorithmError: ValueError: unknown algorithm 'quantum'")


@pytest.mark.parametrize(
    ("result", "champion", "tolerance", "accepted", "reason"),
    [
        (
            {"threshold_misses": ["roc_auc 0.6 < 0.75"], "primary_metric": "roc_auc", "metrics": {"roc_auc": 0.6}},
            None,
            0,
            False,
            "below the contract's thresholds",
        ),
        (
            {"threshold_misses": [], "primary_metric": "roc_auc", "metrics": {"roc_auc": 0.80}},
            {"version": 3, "metrics": {"roc_auc": 0.81}},
            0.02,
            True,
            "not worse than the champion",
        ),
        (
            {"threshold_misses": [], "primary_metric": "roc_auc", "metrics": {"roc_auc": 0.78}},
            {"version": 3, "metrics": {"roc_auc": 0.81}},
            0.02,
            False,
            "worse than the champion: roc_auc 0.7800 vs champion v3 0.8100",
        ),
        (
            {"threshold_misses": [], "primary_metric": "log_loss", "metrics": {"log_loss": 0.30}},
            {"version": 1, "metrics": {"log_loss": 0.32}},
            0.0,
            True,
            "not worse",
        ),
    ],
)
def test_decision_rules(result, champion, tolerance, accepted, reason):
    ok, why = decide(result, champion, tolerance)
    assert ok is accepted and reason in why
