"""Backfills: the summary the backfill workflow ends with, and what the CLI checks before starting one."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sagelane.errors import SageLaneError
from sagelane.settings import INCOMING_PREFIX

MAX_LISTED_FAILURES = 20
# How each ingest run's end reads in a summary (the run's error names, see step_functions/ingest.py).
OUTCOMES = {
    "ingested": "curated",
    "already_ingested": "skipped",  # the ledger has this version (curated or quarantined by an earlier run)
    "DataValidationFailed": "quarantined",
    "FileTooLarge": "refused",
}
KINDS = ("curated", "quarantined", "refused", "failed", "skipped")


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per outcome (:data:`KINDS`) and the first files that were not curated.

    An object whose ingest run failed arrives as ``States.TaskFailed`` with the run's description as the
    cause; its own error (``DataValidationFailed``...) is read from there.
    """
    counts: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    for result in results:
        result = result or {}  # an iteration that failed outright (past every Catch) has no output
        outcome = result.get("outcome", "")
        if outcome not in OUTCOMES:
            outcome = _run_error(result.get("cause")) or outcome
        kind = OUTCOMES.get(outcome, "failed")
        counts[kind] += 1
        if kind not in ("curated", "skipped") and len(failures) < MAX_LISTED_FAILURES:
            cause = result.get("cause")
            failures.append(
                {"key": result.get("key"), "outcome": outcome, "cause": str(cause)[:300] if cause else None}
            )
    return {
        "files": len(results),
        **{k: counts[k] for k in KINDS},
        "failures": failures,
    }


def map_results(s3: Any, results: Any) -> list[Any]:
    """The item results of the backfill's map run: read from S3 where its ResultWriter wrote them (the
    state holds only ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}``, the manifest), or the
    list itself (a definition without a ResultWriter)."""
    if isinstance(results, list):
        return results
    details = (results or {}).get("ResultWriterDetails")
    if not details:
        raise SageLaneError(f"the map run's results name no ResultWriter manifest: {str(results)[:200]}")
    manifest = json.loads(s3.get_object(Bucket=details["Bucket"], Key=details["Key"])["Body"].read())
    outputs: list[Any] = []
    for status in ("SUCCEEDED", "FAILED", "PENDING"):
        for entry in manifest.get("ResultFiles", {}).get(status, []):
            body = s3.get_object(Bucket=manifest.get("DestinationBucket", details["Bucket"]), Key=entry["Key"])
            for child in json.loads(body["Body"].read()):
                output = child.get("Output")
                # a child that failed outright has no output: it counts as failed, with its cause
                outputs.append(json.loads(output) if output else {"cause": child.get("Cause") or child.get("Error")})
    return outputs


def _run_error(cause: Any) -> str | None:
    try:
        described = json.loads(cause) if isinstance(cause, str) else None
    except ValueError:
        return None
    if isinstance(described, dict):
        return described.get("Error") or described.get("error")
    return None


def check_prefix(dataset: str, prefix: str) -> str:
    """The prefix to backfill, which must lie under the dataset's incoming folder (its contract applies)."""
    expected = f"{INCOMING_PREFIX}/{dataset}/"
    prefix = prefix.removeprefix("/")
    if not (prefix + "/").startswith(expected) and prefix != expected.rstrip("/"):
        raise SageLaneError(
            f"prefix {prefix!r} is not under {expected!r}: a backfill of dataset {dataset} reads that folder "
            "of the raw zone (copy the files there first)"
        )
    return prefix
