"""Captured traffic in SageMaker's data capture format: written and read back, bad lines counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from sagelane.monitoring.capture import capture_line, capture_prefix, read_lines, read_s3

RECORD = {"island": "Biscoe", "bill_length_mm": 45.1}


def output(*labels: str) -> bytes:
    return json.dumps([{"prediction": label} for label in labels]).encode()


def test_json_csv_and_batches_read_back_as_records_and_predictions():
    lines = [
        capture_line(
            json.dumps(RECORD).encode(), "application/json", output("Gentoo"), "application/json", event_id="1"
        ),
        capture_line(
            json.dumps({"instances": [RECORD, RECORD]}).encode(),
            "application/json",
            output("Gentoo", "Adelie"),
            "application/json",
            event_id="2",
        ),
        capture_line(
            b"island,bill_length_mm\nDream,39.0\n", "text/csv", output("Adelie"), "application/json", event_id="3"
        ),
    ]
    traffic = read_lines(lines)
    assert traffic.requests == 3 and len(traffic.records) == 4
    assert traffic.predictions == ["Gentoo", "Gentoo", "Adelie", "Adelie"]
    assert traffic.records[3] == {"island": "Dream", "bill_length_mm": "39.0"}
    assert json.loads(lines[0])["captureData"]["endpointInput"]["encoding"] == "JSON"


def test_unreadable_lines_are_counted_not_fatal():
    bad_body = capture_line(b"\xff\xfe", "application/json", output("x"), "application/json", event_id="b")
    traffic = read_lines(["not json", '{"captureData": {}}', bad_body, ""])
    assert (traffic.requests, traffic.unreadable) == (0, 3)
    assert json.loads(bad_body)["captureData"]["endpointInput"]["encoding"] == "BASE64"


def test_read_s3_reads_the_hourly_folders_of_the_window():
    now = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="art")
        line = capture_line(
            json.dumps(RECORD).encode(), "application/json", output("Gentoo"), "application/json", event_id="1"
        )
        for hour in (now - timedelta(hours=3), now - timedelta(hours=1), now):
            key = capture_prefix("capture/penguins", "ep", "live", hour) + "part.jsonl"
            s3.put_object(Bucket="art", Key=key, Body=(line + "\n") * 2)
        traffic = read_s3(
            s3,
            bucket="art",
            prefix="capture/penguins",
            endpoint="ep",
            variant="live",
            since=now - timedelta(hours=2),
            until=now,
        )
    assert traffic.requests == 4 and traffic.predictions == ["Gentoo"] * 4


# --- the container's own capture (serverless endpoints) ------------------------------------------------


def _container_capture():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
    import capture

    return capture


def test_the_container_writes_the_lines_sagemaker_writes():
    capture = _container_capture()
    at = datetime(2026, 11, 23, 5, tzinfo=UTC)
    for body, kind in ((json.dumps(RECORD).encode(), "application/json"), (b"a,b\n1,2\n", "text/csv"), (b"\xff", "x")):
        args = (body, kind, output("Gentoo"), "application/json")
        assert capture.line(*args, event_id="e", inference_id="i-1", at=at) == capture_line(
            *args, event_id="e", inference_id="i-1", at=at
        )
    assert capture.line(*args, event_id="e", at=at) == capture_line(*args, event_id="e", at=at)


@mock_aws
def test_container_capture_samples_buffers_and_writes_sse_kms_objects_by_hour():
    capture = _container_capture()
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="art")
    kms = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    writer = capture.Capture.from_environment(
        {
            capture.URI: "s3://art/capture/penguins/sagelane-dev-penguins/live",
            capture.PERCENT: "50",
            capture.KMS_KEY: kms,
        }
    )
    writer._client = s3
    assert capture.Capture.from_environment({}) is None  # no URI: no capture
    for i in range(10):
        writer.record(json.dumps(RECORD).encode(), "application/json", output("Gentoo"), "application/json", f"id-{i}")
    assert writer.written == 0  # buffered: neither 1,000 lines nor a minute old
    writer.flush()
    assert writer.written == 5 and writer.dropped == 0  # every second request
    (item,) = s3.list_objects_v2(Bucket="art")["Contents"]
    now = datetime.now(UTC)
    assert item["Key"].startswith(f"capture/penguins/sagelane-dev-penguins/live/{now:%Y/%m/%d/%H}/")
    head = s3.head_object(Bucket="art", Key=item["Key"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == kms
    traffic = read_s3(
        s3,
        bucket="art",
        prefix="capture/penguins",
        endpoint="sagelane-dev-penguins",
        variant="live",
        since=now - timedelta(hours=1),
        until=now,
    )
    assert traffic.requests == 5 and set(traffic.by_inference) == {(f"id-{i}", 0) for i in range(1, 10, 2)}
    writer.close()


def test_a_failed_capture_write_drops_lines_and_never_raises():
    capture = _container_capture()

    class Broken:
        def put_object(self, **_):
            raise OSError("no network")

    writer = capture.Capture("s3://art/capture/x", 100, client=Broken(), max_lines=2)
    for _ in range(3):
        writer.record(b"{}", "application/json", b"[]", "application/json")
    writer.flush()
    assert (writer.written, writer.dropped) == (0, 3)
    writer.close()
    with pytest.raises(ValueError, match="SAGELANE_CAPTURE_S3_URI must be s3://bucket/prefix"):
        capture.Capture("art/capture", 100)
