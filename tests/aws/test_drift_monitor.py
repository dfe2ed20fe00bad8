"""The drift check against moto: endpoint → live version → baseline; captured traffic; CloudWatch metrics."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pytest
from moto import mock_aws

from sagelane.monitoring.capture import capture_line, capture_prefix
from sagelane.monitoring.monitor import NothingToMonitorError, check, publish

NOW = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
BASELINE = {
    "rows": 1000,
    "features": {
        "size": {"kind": "numeric", "edges": [0.0, 2.5, 5.0, 7.5, 10.0], "shares": [0.25] * 4, "missing_share": 0.0},
        "colour": {"kind": "categorical", "shares": {"red": 0.5, "blue": 0.5}},
    },
    "prediction": {"kind": "categorical", "shares": {"yes": 0.5, "no": 0.5}},
}


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        s3.create_bucket(Bucket="art")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            data = json.dumps(BASELINE).encode()
            info = tarfile.TarInfo("baseline.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        s3.put_object(Bucket="art", Key="training/m/model.tar.gz", Body=buffer.getvalue())
        sagemaker.create_model_package_group(ModelPackageGroupName="sagelane-dev-m")
        package = sagemaker.create_model_package(
            ModelPackageGroupName="sagelane-dev-m",
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [{"Image": "i", "ModelDataUrl": "s3://art/training/m/model.tar.gz"}],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )["ModelPackageArn"]
        sagemaker.create_model(
            ModelName="m-v1",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            PrimaryContainer={"ModelPackageName": package},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="m-v1",
            ProductionVariants=[
                {"VariantName": "live", "ModelName": "m-v1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
            ],
        )
        sagemaker.create_endpoint(EndpointName="sagelane-dev-m", EndpointConfigName="m-v1")
        yield s3, sagemaker, boto3.client("cloudwatch", region_name="us-east-1")


def capture(s3, rows: list[dict], predictions: list[str]) -> None:
    line = capture_line(
        json.dumps(rows).encode(),
        "application/json",
        json.dumps([{"prediction": p} for p in predictions]).encode(),
        "application/json",
        event_id="e",
    )
    s3.put_object(Bucket="art", Key=capture_prefix("capture/m", "sagelane-dev-m", "live", NOW) + "a.jsonl", Body=line)


def run(s3, sagemaker):
    return check(
        s3=s3,
        sagemaker=sagemaker,
        model="m",
        endpoint="sagelane-dev-m",
        capture_bucket="art",
        capture_prefix="capture/m",
        since=NOW - timedelta(hours=1),
        until=NOW,
    )


def test_in_distribution_traffic_shows_no_drift(aws):
    s3, sagemaker, _ = aws
    rng = np.random.default_rng(1)
    rows = [
        {"size": float(v), "colour": c}
        for v, c in zip(rng.uniform(0, 10, 2000), rng.choice(["red", "blue"], 2000), strict=True)
    ]
    capture(s3, rows, list(rng.choice(["yes", "no"], 2000)))
    report = run(s3, sagemaker)
    assert (report.live.version, report.rows, report.requests) == (1, 2000, 1)
    assert report.max_psi < 0.02 and {d.name for d in report.results} == {"size", "colour", "prediction"}


def test_drifted_traffic_is_published_as_metrics(aws):
    s3, sagemaker, cloudwatch = aws
    rows = [{"size": 9.0, "colour": "green"}] * 500
    capture(s3, rows, ["yes"] * 500)
    report = run(s3, sagemaker)
    assert report.max_psi > 1.0 and report.max_ks > 0.5
    assert publish(cloudwatch, env="dev", report=report, min_rows=501) == 1  # too few rows: MonitoredRows only
    assert publish(cloudwatch, env="dev", report=report, min_rows=500) == 3 + 2 * 3
    stats = cloudwatch.get_metric_statistics(
        Namespace="SageLane/dev",
        MetricName="MaxPSI",
        Dimensions=[{"Name": "Model", "Value": "m"}],
        StartTime=NOW - timedelta(minutes=5),
        EndTime=NOW + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert stats and stats[0]["Maximum"] == pytest.approx(report.max_psi)


def test_no_endpoint_or_no_traffic_is_said_plainly(aws):
    s3, sagemaker, cloudwatch = aws
    report = run(s3, sagemaker)
    assert report.rows == 0 and report.results == []
    assert publish(cloudwatch, env="dev", report=report) == 1  # MonitoredRows only
    with pytest.raises(NothingToMonitorError, match="no endpoint sagelane-dev-x"):
        check(
            s3=s3,
            sagemaker=sagemaker,
            model="x",
            endpoint="sagelane-dev-x",
            capture_bucket="art",
            capture_prefix="capture/x",
            since=NOW,
            until=NOW,
        )


def test_the_drift_report_shows_every_feature_with_its_verdict(aws, tmp_path):
    from sagelane.monitoring.report import render_html, text_table

    s3, sagemaker, _ = aws
    capture(s3, [{"size": 9.0, "colour": "green"}] * 500, ["yes"] * 500)
    report = run(s3, sagemaker)
    page = render_html(report, threshold=0.2)
    assert page.count("<svg") == 3 and "significant shift" in page and "class='card alert'" in page
    assert "<script" not in page
    lines = text_table(report)
    assert lines[0].split()[:4] == ["FEATURE", "KIND", "PSI", "KS"] and len(lines) == 4
