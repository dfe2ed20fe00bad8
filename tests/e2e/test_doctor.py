"""``sagelane doctor`` on the embedded AWS: healthy after the lifecycle, and it names what breaks."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from tests.e2e.conftest import cli, settle

pytestmark = pytest.mark.slow
PARTS = ["Delivery", "DataLake", "Ingest", "Training", "Serving", "Monitoring"]


def doctor(capsys, dev, *extra: str) -> tuple[int, dict]:
    code, out = cli(capsys, "doctor", "--assembly", str(dev.outdir), "--json", *extra)
    assert out.startswith("{"), out
    return code, json.loads(out)


def problems(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["status"] == "problem"]


def test_doctor_is_healthy_after_the_lifecycle_and_names_each_injected_problem(
    served, dev, capsys, penguins_csv, tmp_path
):
    # given the lifecycle: a file curated, one quarantined, a model trained, approved and deployed
    bad = tmp_path / "penguins-bad.csv"
    bad.write_text("species,island\nAdelie,Torgersen\n")
    assert cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")[0] == 0
    assert cli(capsys, "data", "push", str(bad), "--dataset", "penguins", "--wait")[0] == 1
    settle()
    assert cli(capsys, "models", "approve", "penguins-species", "1")[0] == 0
    settle()

    # when the doctor looks, then everything is healthy, and it says what it checked
    code, report = doctor(capsys, dev)
    assert (code, problems(report)) == (0, []), problems(report)
    checked = {(f["area"], f["status"]) for f in report["findings"]}
    assert {("stacks", "ok"), ("buckets", "ok"), ("alarms", "ok"), ("endpoints", "ok"), ("runs", "ok")} <= checked
    stacks = [f for f in report["findings"] if f["area"] == "stacks"]
    assert [f["subject"] for f in stacks] == [f"SageLane-dev-{p}" for p in PARTS]
    assert all("the same template" in f["detail"] for f in stacks)
    endpoint = next(f for f in report["findings"] if f["subject"] == "sagelane-dev-penguins-species")
    assert endpoint["detail"] == "InService, serving Approved version 1"
    ingest = next(f for f in report["findings"] if f["area"] == "runs" and f["subject"] == "ingest")
    assert "1 DataValidationFailed (quarantined with a report)" in ingest["detail"]

    # versioning suspended on the raw bucket, behind CloudFormation's back
    s3 = boto3.client("s3")
    raw = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("sagelane-dev-raw-"))
    s3.put_bucket_versioning(Bucket=raw, VersioningConfiguration={"Status": "Suspended"})
    code, report = doctor(capsys, dev)
    (problem,) = problems(report)
    assert (code, problem["subject"], problem["detail"]) == (1, raw, "versioning is Suspended")
    assert "deploy the DataLake stack" in problem["fix"]
    s3.put_bucket_versioning(Bucket=raw, VersioningConfiguration={"Status": "Enabled"})

    # a template that is not the deployed one: the stack is named as not current
    changed = tmp_path / "assembly"
    changed.mkdir()
    for template in dev.outdir.glob("*.template.json"):
        (changed / template.name).write_bytes(template.read_bytes())
    ingest_template = changed / "SageLane-dev-Ingest.template.json"
    body = json.loads(ingest_template.read_text())
    body["Description"] = "changed since the deployment"
    ingest_template.write_text(json.dumps(body))
    code, out = cli(capsys, "doctor", "--assembly", str(changed))
    assert code == 1
    assert "PROBLEM  stacks     SageLane-dev-Ingest" in out and "npx cdk diff SageLane-dev-Ingest" in out
    assert "1 problem(s)" in out

    # last, an endpoint that answers with errors: its 5XX metric breaches, the alarm fires and is named
    cloudwatch = boto3.client("cloudwatch")
    alarm = "sagelane-dev-penguins-species-5xx-errors"
    (spec,) = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    cloudwatch.put_metric_data(
        Namespace=spec["Namespace"],
        MetricData=[
            {"MetricName": spec["MetricName"], "Dimensions": spec["Dimensions"], "Value": spec["Threshold"] + 5}
        ],
    )
    deadline = time.monotonic() + 30
    while cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] != "ALARM":
        assert time.monotonic() < deadline, "the local alarm evaluation did not fire"
        time.sleep(0.2)
    code, report = doctor(capsys, dev)
    (problem,) = problems(report)
    assert code == 1
    assert (problem["area"], problem["subject"]) == ("alarms", alarm)
    assert "Threshold Crossed" in problem["detail"]
    assert "sagelane models deploy penguins-species" in problem["fix"]


def test_doctor_names_an_undeployed_environment_and_an_endpoint_gone_missing(served, dev, capsys, penguins_csv):
    # given a model approved and deployed, then its endpoint deleted outside the kit
    cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    settle()
    cli(capsys, "models", "approve", "penguins-species", "1")
    settle()
    boto3.client("sagemaker").delete_endpoint(EndpointName="sagelane-dev-penguins-species")
    code, report = doctor(capsys, dev)
    (problem,) = problems(report)
    assert code == 1 and problem["area"] == "endpoints"
    assert problem["detail"] == "version 1 is Approved but the endpoint does not exist"
    assert "sagelane models deploy penguins-species 1 --env dev" in problem["fix"]

    # and an environment that was never deployed: every stack is named, nothing crashes
    code, report = doctor(capsys, dev, "--env", "prod")
    assert code == 1
    missing = [f["subject"] for f in problems(report) if f["area"] == "stacks"]
    assert missing == [f"SageLane-prod-{p}" for p in PARTS]
    assert {f["area"] for f in problems(report)} == {"stacks", "buckets", "endpoints"}
