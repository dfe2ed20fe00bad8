"""Captured inference traffic, in SageMaker's data capture format, read back as records and predictions.

SageMaker data capture writes JSON Lines under ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/``,
one line per request::

    {"captureData": {"endpointInput":  {"observedContentType": "application/json", "mode": "INPUT",
                                        "data": "...", "encoding": "JSON" | "CSV" | "BASE64"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "...", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "2026-11-23T05:00:00Z"},
     "eventVersion": "0"}

``inferenceId`` is there when the caller named the request (``InvokeEndpoint``'s ``InferenceId``); it
is what ground-truth labels join on. The kit writes the same format where SageMaker captures nothing
(serverless endpoints: ``training/capture.py``, inside the container), so one reader serves both. A
request carries one record or a batch; its output one prediction per record.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass
class Traffic:
    records: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[Any] = field(default_factory=list)
    requests: int = 0
    unreadable: int = 0  # capture lines that could not be parsed (counted, never fatal)
    # (inferenceId, position of the record in its request) → the model's output for that record
    by_inference: dict[tuple[str, int], Any] = field(default_factory=dict)


def _decode(part: dict[str, Any]) -> tuple[str, str]:
    data = part.get("data", "")
    if part.get("encoding") == "BASE64":
        data = base64.b64decode(data).decode("utf-8")
    return data, (part.get("observedContentType") or "application/json").split(";")[0].strip()


def _records(text: str, content_type: str) -> list[dict[str, Any]]:
    if content_type == "text/csv":
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    value = json.loads(text)
    if isinstance(value, dict) and "instances" in value:
        value = value["instances"]
    return value if isinstance(value, list) else [value]


def read_lines(lines: Iterable[str], traffic: Traffic | None = None) -> Traffic:
    """Add the records and predictions of capture ``lines`` to ``traffic``."""
    traffic = traffic or Traffic()
    for line in lines:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            capture = entry["captureData"]
            records = _records(*_decode(capture["endpointInput"]))
            outputs = json.loads(_decode(capture["endpointOutput"])[0]) if "endpointOutput" in capture else []
        except (KeyError, ValueError, TypeError):
            traffic.unreadable += 1
            continue
        if not all(isinstance(r, dict) for r in records):
            traffic.unreadable += 1
            continue
        traffic.requests += 1
        traffic.records += records
        if isinstance(outputs, list) and len(outputs) == len(records):
            traffic.predictions += [o.get("prediction") if isinstance(o, dict) else o for o in outputs]
            metadata = entry.get("eventMetadata")
            inference_id = metadata.get("inferenceId") if isinstance(metadata, dict) else None
            if inference_id:
                traffic.by_inference.update(((str(inference_id), i), o) for i, o in enumerate(outputs))
    return traffic


def capture_prefix(prefix: str, endpoint: str, variant: str, hour: datetime) -> str:
    return f"{prefix.rstrip('/')}/{endpoint}/{variant}/{hour:%Y/%m/%d/%H}/"


def hours(since: datetime, until: datetime) -> Iterator[datetime]:
    """Every hour from ``since``'s to ``until``'s (the capture folders to read)."""
    hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour <= until:
        yield hour
        hour += timedelta(hours=1)


def read_s3(
    s3: Any, *, bucket: str, prefix: str, endpoint: str, variant: str, since: datetime, until: datetime
) -> Traffic:
    """The traffic captured for ``endpoint`` between ``since`` and ``until`` (whole hourly folders)."""
    traffic = Traffic()
    for hour in hours(since, until):
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": capture_prefix(prefix, endpoint, variant, hour)}
        while True:
            page = s3.list_objects_v2(**kwargs)
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8", "replace")
                read_lines(body.splitlines(), traffic)
            if not page.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
    return traffic


def capture_line(
    body: bytes,
    content_type: str,
    output: bytes,
    accept: str,
    *,
    event_id: str,
    inference_id: str | None = None,
    at: datetime | None = None,
) -> str:
    """One capture line, as SageMaker writes it (inputs kept as text when they are text). The container's
    own capture (``training/capture.py``, which cannot import this package) writes the same lines: a
    test holds the two to each other."""

    def part(data: bytes, observed: str, mode: str) -> dict[str, Any]:
        kind = observed.split(";")[0].strip()
        try:
            text, encoding = data.decode("utf-8"), ("CSV" if kind == "text/csv" else "JSON")
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(data).decode(), "BASE64"
        return {"observedContentType": observed, "mode": mode, "data": text, "encoding": encoding}

    metadata = {"eventId": event_id, "inferenceTime": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if inference_id:
        metadata["inferenceId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": part(body, content_type, "INPUT"),
                "endpointOutput": part(output, accept, "OUTPUT"),
            },
            "eventMetadata": metadata,
            "eventVersion": "0",
        }
    )
