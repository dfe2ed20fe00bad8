"""Captured traffic in SageMaker's data capture format: written and read back, bad lines counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
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
