"""Faults on the embedded AWS: each ends in its documented state, with a notification, and loses nothing.

Faults covered elsewhere: a failing training script (test_training_workflow: TrainingFailed, nothing
registered), a failed smoke test (test_deploy_workflow: SmokeTestFailed, the old version keeps serving).
"""

from __future__ import annotations

import copy
import json

import boto3
import pytest

from sagelane.local import faults
from sagelane.runs import describe_run, list_runs
from tests.e2e.conftest import cli, settle

pytestmark = pytest.mark.slow
MODEL = "penguins-species"


@pytest.fixture(autouse=True)
def no_leftover_faults():
    faults.clear()
    yield
    leftover = faults.pending()
    faults.clear()
    assert leftover == [], "a test injected a fault that nothing met"


def subjects(read) -> list[str]:
    return [m.get("Subject", "") for m in read()]


def history(run_arn: str) -> list[dict]:
    return boto3.client("stepfunctions").get_execution_history(executionArn=run_arn, maxResults=1000)["events"]


def bucket(zone: str) -> str:
    return next(
        b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(f"sagelane-dev-{zone}-")
    )


def keys(zone: str, prefix: str) -> list[str]:
    return [
        o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket(zone), Prefix=prefix).get("Contents", [])
    ]


def only_ingest_run():
    (run,) = list_runs("dev", "ingest", limit=10)
    return describe_run(run.arn, workflow="ingest")


def test_sagemaker_throttling_is_retried_with_backoff_and_the_training_still_registers(
    served, capsys, penguins_csv, subscribe
):
    inbox = subscribe("Training")
    faults.inject("sagemaker", "CreateTrainingJob", "ThrottlingException", "Rate exceeded")
    assert cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")[0] == 0
    settle()
    (run,) = list_runs("dev", "train", limit=10)
    run = describe_run(run.arn, workflow="train")
    assert (run.status, run.end_state) == ("SUCCEEDED", "Registered")
    events = history(run.arn)
    failed = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failed] == ["SageMaker.AmazonSageMakerException"]
    assert "Error Code: ThrottlingException" in failed[0]["cause"]
    scheduled = [
        e
        for e in events
        if e["type"] == "TaskScheduled" and "sagemaker" in e["taskScheduledEventDetails"]["resourceType"]
    ]
    assert len(scheduled) == 2  # the throttled call, then the retry that trained
    assert "SageLane: a model version awaits approval" in subjects(inbox)


def test_an_endpoint_that_cannot_be_created_ends_deploy_failed_notifies_and_a_redeploy_recovers(
    served, capsys, penguins_csv, subscribe
):
    inbox = subscribe("Serving")
    cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    settle()
    faults.inject("sagemaker", "CreateEndpoint", "ResourceLimitExceeded", "The account-level service limit is 0")
    assert cli(capsys, "models", "approve", MODEL, "1")[0] == 0
    settle()
    (run,) = list_runs("dev", "deploy", limit=10)
    assert (run.status, run.error) == ("FAILED", "DeployFailed")
    assert "service limit" in (run.cause or "")
    assert any("deploy" in s.lower() and "fail" in s.lower() for s in subjects(inbox)), subjects(inbox)
    sagemaker = boto3.client("sagemaker")
    assert sagemaker.list_endpoints(NameContains=MODEL)["Endpoints"] == []
    # nothing lost: the version is still Approved, and deploying it again (the fault is gone) serves it
    code, out = cli(capsys, "models", "show", MODEL, "1")
    assert code == 0 and "Approved" in out
    assert cli(capsys, "models", "deploy", MODEL, "1")[0] == 0
    settle()
    endpoint = sagemaker.describe_endpoint(EndpointName=f"sagelane-dev-{MODEL}")
    assert endpoint["EndpointStatus"] == "InService" and "-v1-" in endpoint["EndpointConfigName"]


def test_access_denied_on_the_curated_bucket_fails_the_run_notifies_and_keeps_the_original(
    served, capsys, penguins_csv, subscribe
):
    inbox = subscribe("Ingest")
    curated = bucket("curated")
    faults.inject(
        "s3", "PutObject", "AccessDenied", "Access Denied", status=403, when=lambda p: p.get("Bucket") == curated
    )
    code, out = cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    assert code == 1, out
    settle()
    run = only_ingest_run()
    assert (run.status, run.error) == ("FAILED", "IngestFailed")
    assert "AccessDenied" in (run.cause or "")
    assert any("fail" in s.lower() for s in subjects(inbox)), subjects(inbox)
    # the original is untouched, nothing half-written is published, and no training started
    raw = boto3.client("s3").head_object(Bucket=bucket("raw"), Key="incoming/penguins/penguins.csv")
    assert raw["ContentLength"] == penguins_csv.stat().st_size
    assert keys("curated", "data/penguins/") == []
    assert list_runs("dev", "train", limit=10) == []
    # once access is back, pushing the same file again curates it
    assert cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")[0] == 0
    assert len(keys("curated", "data/penguins/")) == 1


def test_malformed_and_foreign_events_start_nothing_or_end_in_a_named_failure(served, capsys, penguins_csv, subscribe):
    inbox = subscribe("Ingest")
    assert cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")[0] == 0
    settle()
    real = next(d for d in served.cloud.deliveries if d.input.get("key", "").endswith("/penguins.csv")).event

    # foreign: another bucket, another source, another detail-type; none matches an ingest rule
    foreign = []
    for path, value in (
        (("detail", "bucket", "name"), "someone-elses-bucket"),
        (("source",), "com.example.uploads"),
        (("detail-type",), "Object Deleted"),
    ):
        event = copy.deepcopy(real)
        target = event
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        foreign.append(event)
    assert [served.cloud.deliver(e) for e in foreign] == [[], [], []]

    # malformed: matches the rule, but names no object version that exists
    broken = copy.deepcopy(real)
    broken["id"] = "malformed-event"
    broken["detail"]["object"]["version-id"] = "no-such-version"
    broken["detail"]["object"]["etag"] = "0" * 32
    (delivery,) = served.cloud.deliver(broken)
    result = served.cloud.wait(delivery.execution_arn or "")
    assert result["status"] == "FAILED"
    run = describe_run(delivery.execution_arn or "", workflow="ingest")
    assert run.error == "IngestFailed" and "no-such-version" in (run.cause or "") + json.dumps(run.input)
    assert any("fail" in s.lower() for s in subjects(inbox))
    assert len(keys("curated", "data/penguins/")) == 1  # the good file's partition, nothing more


def test_a_lambda_timeout_ends_the_run_failed_with_a_notification_and_loses_nothing(
    served, capsys, penguins_csv, subscribe
):
    inbox = subscribe("Ingest")
    faults.lambda_timeout("Validate")
    code, _ = cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    assert code == 1
    settle()
    run = only_ingest_run()
    assert (run.status, run.error) == ("FAILED", "IngestFailed")
    assert "Sandbox.Timedout" in (run.cause or "")
    assert any("fail" in s.lower() for s in subjects(inbox))
    assert keys("curated", "data/penguins/") == []
    assert keys("raw", "incoming/penguins/penguins.csv") == ["incoming/penguins/penguins.csv"]
