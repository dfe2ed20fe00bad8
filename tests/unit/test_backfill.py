"""The backfill's summary and the CLI's prefix check."""

from __future__ import annotations

import json

import pytest

from sagelane.errors import SageLaneError
from sagelane.ingest.backfill import check_prefix, summarize


def failed_run(error: str) -> str:
    """What startExecution.sync:2 gives as the cause when the ingest run fails: its description."""
    return json.dumps({"Status": "FAILED", "Error": error, "Cause": "..."})


def test_summary_counts_each_outcome_and_lists_what_was_not_curated():
    results = [
        {"key": "a.csv", "outcome": "ingested"},
        {"key": "b.csv", "outcome": "already_ingested"},
        {"key": "c.csv", "outcome": "States.TaskFailed", "cause": failed_run("DataValidationFailed")},
        {"key": "d.csv", "outcome": "States.TaskFailed", "cause": failed_run("FileTooLarge")},
        {"key": "e.csv", "outcome": "States.TaskFailed", "cause": failed_run("IngestFailed")},
        {"key": "f.csv", "outcome": "S3.NoSuchKey", "cause": "gone"},
        None,  # an iteration that failed past every Catch
    ]
    summary = summarize(results)
    assert {k: summary[k] for k in ("files", "curated", "skipped", "quarantined", "refused", "failed")} == {
        "files": 7,
        "curated": 1,
        "skipped": 1,
        "quarantined": 1,
        "refused": 1,
        "failed": 3,
    }
    assert [(f["key"], f["outcome"]) for f in summary["failures"]] == [
        ("c.csv", "DataValidationFailed"),
        ("d.csv", "FileTooLarge"),
        ("e.csv", "IngestFailed"),
        ("f.csv", "S3.NoSuchKey"),
        (None, ""),
    ]


def test_a_backfill_reads_only_the_datasets_incoming_folder():
    assert check_prefix("churn", "incoming/churn/2025/") == "incoming/churn/2025/"
    assert check_prefix("churn", "/incoming/churn") == "incoming/churn"
    for wrong in ("incoming/penguins/", "incoming/churnx/", "curated/churn/", ""):
        with pytest.raises(SageLaneError, match="is not under 'incoming/churn/'"):
            check_prefix("churn", wrong)


def test_the_results_of_a_map_run_are_read_from_its_result_writer_manifest():
    import json

    import boto3
    from moto import mock_aws

    from sagelane.ingest.backfill import map_results, summarize

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="curated")
        children = [
            {"Status": "SUCCEEDED", "Output": json.dumps({"key": f"incoming/churn/{i}.csv", "outcome": "ingested"})}
            for i in range(1500)  # past what 256 KiB of state would hold inline
        ]
        s3.put_object(Bucket="curated", Key="backfill/run/SUCCEEDED_0.json", Body=json.dumps(children).encode())
        failed = [{"Status": "FAILED", "Error": "States.TaskFailed", "Cause": "boom"}]
        s3.put_object(Bucket="curated", Key="backfill/run/FAILED_0.json", Body=json.dumps(failed).encode())
        manifest = {
            "DestinationBucket": "curated",
            "ResultFiles": {
                "SUCCEEDED": [{"Key": "backfill/run/SUCCEEDED_0.json"}],
                "FAILED": [{"Key": "backfill/run/FAILED_0.json"}],
                "PENDING": [],
            },
        }
        s3.put_object(Bucket="curated", Key="backfill/run/manifest.json", Body=json.dumps(manifest).encode())
        state = {"MapRunArn": "arn", "ResultWriterDetails": {"Bucket": "curated", "Key": "backfill/run/manifest.json"}}
        summary = summarize(map_results(s3, state))
    assert summary["files"] == 1501 and summary["curated"] == 1500 and summary["failed"] == 1
    assert summary["failures"][0]["cause"] == "boom"
