"""Training on the embedded AWS: ingest → train (local SageMaker job) → registry → approval, via the CLI."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from sagelane.runs import list_runs
from sagelane.samples import PENGUIN_EXAMPLES
from tests.e2e.conftest import cli, settle

pytestmark = pytest.mark.slow
MODEL = "penguins-species"
GROUP = f"sagelane-dev-{MODEL}"


@pytest.fixture
def inbox(subscribe):
    """Messages published to the training topic."""
    return subscribe("Training")


def train_runs():
    return [r for r in list_runs("dev", "train", limit=200)]


def versions():
    packages = boto3.client("sagemaker").list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    return sorted((p["ModelPackageVersion"], p["ModelApprovalStatus"]) for p in packages)


def prepare_env(served) -> dict:
    fn = next(f for f in served.cloud.functions.functions.values() if "Prepare" in f.name)
    return fn.environment


def test_curated_data_trains_one_version_that_awaits_approval(served, capsys, penguins_csv, inbox, tmp_path):
    code, _ = cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    assert code == 0
    settle()
    (run,) = [r for r in train_runs() if r.input["model"] == MODEL]
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.input["trigger"] == "ingest"

    code, out = cli(capsys, "models", "list", MODEL, "--json")
    (version,) = json.loads(out)
    assert (version["version"], version["status"]) == (1, "PendingManualApproval")
    assert version["metrics"]["accuracy"] >= 0.9 and version["metrics"]["macro_f1"] >= 0.9
    assert version["metadata"]["trigger"] == "ingest" and version["metadata"]["lineage"].startswith("s3://")
    subjects = [m["Subject"] for m in inbox()]
    assert "SageLane: a model version awaits approval" in subjects

    code, out = cli(capsys, "models", "show", MODEL, "1")
    assert code == 0 and "lineage_sha256" in out and "contract_sha256" in out
    code, out = cli(capsys, "models", "approve", MODEL, "1", "--comment", "checked the card")
    assert code == 0 and "is now Approved" in out
    assert versions() == [(1, "Approved")]
    code, out = cli(capsys, "models", "approve", MODEL, "1")
    assert code == 2 and "already Approved" in out

    # the version serves with its own copy of the code, beside its model, which the serving role reads
    # (finding 6: not the CDK asset of the day, which changes with every change to training/)
    package = boto3.client("sagemaker").describe_model_package(ModelPackageName=version["arn"])
    container = package["InferenceSpecification"]["Containers"][0]
    submitted = container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"]
    artifacts = f"s3://sagelane-dev-artifacts-123456789012-us-east-1/training/{MODEL}/"
    assert submitted.startswith(artifacts) and submitted.endswith("/code/sourcedir.tar.gz")
    assert submitted.rsplit("/code/", 1)[0] == container["ModelDataUrl"].split("/output/", 1)[0]  # its run
    authority = served.cloud.authority
    serving_role = next(arn for arn in authority.principals if ":role/ServingRole" in arn)
    code_arn = "arn:aws:s3:::" + submitted.removeprefix("s3://")
    assert authority.authorize(authority.principal(serving_role), [("s3:GetObject", code_arn)]) is None

    # the approved version, loaded as its serving container would load it, predicts
    from sagelane.serving.local import load_version

    loaded, chosen = load_version("dev", MODEL, None, tmp_path)
    assert chosen.version == 1
    record = PENGUIN_EXAMPLES[0]
    body, _ = loaded.invoke(json.dumps(record).encode(), "application/json", "application/json")
    assert json.loads(body)[0]["prediction"] == "Gentoo"


def test_a_failing_training_script_ends_in_training_failed_and_registers_nothing(served, capsys, penguins_csv, inbox):
    env = prepare_env(served)
    models = json.loads(env["SAGELANE_MODELS"])
    models[MODEL]["hyperparameters"] = {"C": "not-a-number"}
    env["SAGELANE_MODELS"] = json.dumps(models)

    cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    settle()
    (run,) = [r for r in train_runs() if r.input["model"] == MODEL]
    assert run.status == "FAILED" and run.error == "TrainingFailed"
    assert "AlgorithmError" in run.cause and "not-a-number" in run.cause
    assert versions() == []
    failure = [m for m in inbox() if m["Subject"] == "SageLane training failed"]
    assert failure and "penguins-species failed: States.TaskFailed" in failure[0]["Message"]


def test_a_candidate_worse_than_the_champion_is_not_registered(served, capsys, penguins_csv, inbox):
    sagemaker = boto3.client("sagemaker")
    champion = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://x/model.tar.gz"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={
            "metric:macro_f1": "1.0",
            "metric:accuracy": "1.0",
            "training_job": "earlier",
        },
    )
    assert champion["ModelPackageArn"]
    env = prepare_env(served)
    models = json.loads(env["SAGELANE_MODELS"])
    models[MODEL]["hyperparameters"] = {"C": "0.05"}  # weaker (macro-F1 < 1), still above the thresholds
    env["SAGELANE_MODELS"] = json.dumps(models)

    cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    settle()
    (run,) = [r for r in train_runs() if r.input["model"] == MODEL]
    assert run.status == "FAILED" and run.error == "CandidateRejected", run.cause
    assert re.search(r"worse than the champion: macro_f1 0\.9\d{3} vs champion v1 1\.0000", run.cause), run.cause
    assert versions() == [(1, "Approved")]
    assert any(m["Subject"] == "SageLane: a candidate model was not registered" for m in inbox())


def test_a_burst_of_files_yields_one_training(served, capsys, penguins_csv, tmp_path):
    s3 = boto3.client("s3")
    raw = "sagelane-dev-raw-123456789012-us-east-1"
    lines = penguins_csv.read_text().splitlines()
    for i in range(10):
        part = tmp_path / f"part-{i}.csv"
        part.write_text("\n".join([lines[0], *lines[1 + i * 28 : 1 + i * 28 + 60]]) + "\n")  # 60 rows each
        s3.upload_file(str(part), raw, f"incoming/penguins/{part.name}")
    settle(180)
    ingests = [r for r in list_runs("dev", "ingest", limit=200)]
    assert len(ingests) == 10 and all(r.status == "SUCCEEDED" for r in ingests)
    runs = [r for r in train_runs() if r.input["model"] == MODEL]
    ended = sorted(describe_end(r) for r in runs)
    # one training for the burst; a second only when files were curated after the first read its data
    # (the 5 s coalescing wait of dev can be shorter than the burst on a loaded machine)
    assert 1 <= ended.count("Registered") <= 2, ended
    assert set(ended) <= {"Registered", "Coalesced"}
    assert {status for _, status in versions()} == {"PendingManualApproval"}
    # the newest version was trained on every file of the burst
    packages = boto3.client("sagemaker").list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    newest = max(packages, key=lambda p: p["ModelPackageVersion"])
    metadata = boto3.client("sagemaker").describe_model_package(ModelPackageName=newest["ModelPackageArn"])[
        "CustomerMetadataProperties"
    ]
    bucket, key = metadata["lineage"].removeprefix("s3://").split("/", 1)
    lineage = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert len(lineage["data"]) == 10


def describe_end(run) -> str:
    from sagelane.runs import describe_run

    return describe_run(run.arn).end_state
