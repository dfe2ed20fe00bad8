"""The real synthesized ingest workflow, run on the embedded AWS (moto + in-process Lambda handlers).

S3 puts fire EventBridge events in moto, moto matches them against the real rules, the local pump applies
the rules' real input transformers and starts the real state machine, whose Lambda tasks run the real
handlers from the synthesized code assets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import polars as pl
import pytest
from moto import mock_aws

from sagelane import aws
from sagelane.local.cloud import MOTO_CONFIG, LocalCloud
from sagelane.samples import churn_frame, write_frame
from tests.corpus import BAD_FILES

REGION = "us-east-1"


@contextmanager
def ingest_cloud(outdir: Path) -> Iterator[LocalCloud]:
    """The DataLake and Ingest stacks of a synthesized assembly, up on moto (callers set the region)."""
    with mock_aws(config=MOTO_CONFIG):
        aws.reset()
        local = LocalCloud(outdir, stacks=["SageLane-dev-DataLake", "SageLane-dev-Ingest"], region=REGION)
        local.up()
        yield local
        local.down()
        aws.reset()


@pytest.fixture
def cloud(dev, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with ingest_cloud(dev.outdir) as local:
        yield local


@pytest.fixture
def notifications(cloud):
    """An SQS queue subscribed to the ingest topic: what people would receive."""
    sqs, sns = boto3.client("sqs", region_name=REGION), boto3.client("sns", region_name=REGION)
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=cloud.ref("SageLane-dev-Ingest", "Notifications"), Protocol="sqs", Endpoint=arn)

    def read() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


def bucket(zone: str) -> str:
    return f"sagelane-dev-{zone}-123456789012-{REGION}"


def keys(name: str, prefix: str = "") -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix=prefix).get("Contents", []))


def drop(cloud: LocalCloud, dataset: str, path: Path) -> list:
    boto3.client("s3", region_name=REGION).upload_file(str(path), bucket("raw"), f"incoming/{dataset}/{path.name}")
    return cloud.pump()


def test_good_file_is_curated_end_to_end(cloud, tmp_path):
    path = write_frame(churn_frame(300, seed=5), tmp_path / "export.csv")
    (delivery,) = drop(cloud, "churn", path)
    assert delivery.input["dataset"] == "churn" and delivery.input["version_id"]

    result = cloud.wait(delivery.execution_arn)

    assert result["status"] == "SUCCEEDED", result
    (parquet,) = keys(bucket("curated"), "data/churn/")
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket("curated"), Key=parquet)["Body"].read()
    table = pl.read_parquet(body)
    assert table.height == 300 and "phone" not in table.columns
    assert not set(table["email"].drop_nulls()) & set(churn_frame(300, seed=5)["email"].drop_nulls())
    assert len(keys(bucket("curated"), "reports/churn/")) == 2
    ledger = boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("SageLane-dev-Ingest", "Ledger"))[
        "Items"
    ]
    assert [i["status"]["S"] for i in ledger] == ["CURATED"]


def test_bad_file_is_quarantined_with_a_report_and_a_notification(cloud, notifications, tmp_path):
    case = next(c for c in BAD_FILES if c.name == "out-of-range values")
    path = tmp_path / case.filename
    case.make(path)
    (delivery,) = drop(cloud, "penguins", path)

    result = cloud.wait(delivery.execution_arn)

    assert result["status"] == "FAILED"
    assert result["error"] == "DataValidationFailed"
    assert "1 of 28 rules failed" in result["cause"]
    quarantined = keys(bucket("quarantine"), "penguins/")
    assert [k.rsplit("/", 1)[1] for k in quarantined] == ["range.csv", "report.html", "report.json"]
    assert keys(bucket("curated")) == []
    assert keys(bucket("raw")) == ["incoming/penguins/range.csv"]  # the original stays
    (message,) = notifications()
    assert message["Subject"] == "SageLane: a file was quarantined"
    assert "column" not in message["Subject"] and "was rejected: FAILED: 1 of 28 rules failed" in message["Message"]
    assert "report.html" in message["Message"]


def test_the_same_event_delivered_twice_runs_once(cloud, tmp_path, penguins_csv):
    (first,) = drop(cloud, "penguins", penguins_csv)
    assert cloud.wait(first.execution_arn)["status"] == "SUCCEEDED"
    validate = next(f for f in cloud.functions.functions.values() if "Validate" in f.name)
    calls = validate.invocations

    # when EventBridge delivers the very same event again (at-least-once delivery)
    (again,) = cloud.deliver(first.event)
    second = again.execution_arn
    result = cloud.wait(second)

    # then the second run stops at the claim: nothing validated, curated or written again
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == first.input
    sfn = boto3.client("stepfunctions", region_name=REGION)
    history = sfn.get_execution_history(executionArn=second)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["Claim", "AlreadyIngested"]
    assert validate.invocations == calls
    assert len(keys(bucket("curated"), "data/penguins/")) == 1


def test_unrelated_keys_start_nothing(cloud, tmp_path, penguins_csv):
    s3 = boto3.client("s3", region_name=REGION)
    s3.upload_file(str(penguins_csv), bucket("raw"), "elsewhere/penguins.csv")
    s3.upload_file(str(penguins_csv), bucket("raw"), "incoming/unknown-dataset/penguins.csv")
    assert cloud.pump() == []


def test_a_burst_of_files_is_each_accounted_for(cloud, tmp_path, penguins_csv):
    # given 20 files dropped at once, 5 of them bad
    good = penguins_csv.read_text()
    bad = good.replace("Adelie", "Emperor", 5)
    s3 = boto3.client("s3", region_name=REGION)
    for i in range(20):
        path = tmp_path / f"part-{i:02}.csv"
        path.write_text(bad if i % 4 == 0 else good)
        s3.upload_file(str(path), bucket("raw"), f"incoming/penguins/{path.name}")

    deliveries = cloud.pump()
    results = [cloud.wait(d.execution_arn, timeout=120) for d in deliveries]

    # then every file was validated once and ended curated or quarantined, none lost
    validate = next(f for f in cloud.functions.functions.values() if "Validate" in f.name)
    assert len(deliveries) == 20 and validate.invocations == 20
    assert sorted(r["status"] for r in results) == ["FAILED"] * 5 + ["SUCCEEDED"] * 15
    assert {r.get("error") for r in results if r["status"] == "FAILED"} == {"DataValidationFailed"}
    assert len(keys(bucket("curated"), "data/penguins/")) == 15
    assert len([k for k in keys(bucket("quarantine"), "penguins/") if k.endswith(".csv")]) == 5
