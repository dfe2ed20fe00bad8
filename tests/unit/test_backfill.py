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
