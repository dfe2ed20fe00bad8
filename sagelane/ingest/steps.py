"""The ingest workflow's steps as plain functions: validate, curate, quarantine.

The Lambda handlers parse their event and call these with clients they create; tests call them with
moto clients. The steps never delete or modify the raw object: it is read by version id, and what the
lake keeps of it (curated Parquet, quarantined copy, reports) is written to the other zones. Every write
uses a key derived from the object version, so re-running a step for the same version overwrites its
own output instead of adding a second copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sagelane.catalog import PARQUET_STORAGE, glue_columns, table_name
from sagelane.contract import Contract, PiiAction
from sagelane.errors import SageLaneError
from sagelane.settings import CURATED_DATA_PREFIX, INCOMING_PREFIX, PARTITION_KEY, REPORTS_PREFIX
from sagelane.validation import Limits, ValidationReport

CHUNK = 8 * 1024 * 1024


class ObjectNotFoundError(SageLaneError):
    """The raw object version named by the event no longer exists (or cannot be read)."""


class ObjectTooLargeError(SageLaneError):
    """The raw object is larger than the Lambda engine accepts."""


class IngestObject(BaseModel):
    """The ingest workflow's input: one S3 object version under ``incoming/<dataset>/``.

    The EventBridge rule's input transformer builds it from the S3 "Object Created" event.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    dataset: str
    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int = Field(ge=0)
    event_time: str = Field(min_length=10)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def ingest_date(self) -> str:
        return self.event_time[:10]

    @property
    def run_name(self) -> str:
        """``<file stem>-<12 chars of the version>``: stable per object version, safe in S3 keys."""
        stem = Path(self.key).name.split(".")[0] or "file"
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem)[:80]
        version = (self.version_id or self.etag or "noversion").replace('"', "")
        return f"{stem}-{hashlib.sha256(version.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class Lake:
    """Where the ingest steps read and write."""

    raw_bucket: str
    curated_bucket: str
    quarantine_bucket: str
    glue_database: str

    def report_prefix(self, obj: IngestObject, *, passed: bool) -> tuple[str, str]:
        """(bucket, prefix) of a validation report: beside the curated data, or beside the quarantined file."""
        if passed:
            return (
                self.curated_bucket,
                f"{REPORTS_PREFIX}/{obj.dataset}/{PARTITION_KEY}={obj.ingest_date}/{obj.run_name}/",
            )
        return self.quarantine_bucket, self.quarantine_prefix(obj)

    def quarantine_prefix(self, obj: IngestObject) -> str:
        return f"{obj.dataset}/{PARTITION_KEY}={obj.ingest_date}/{obj.run_name}/"

    def curated_partition(self, obj: IngestObject) -> str:
        return f"{CURATED_DATA_PREFIX}/{obj.dataset}/{PARTITION_KEY}={obj.ingest_date}/"

    def curated_table_location(self, dataset: str) -> str:
        return f"s3://{self.curated_bucket}/{CURATED_DATA_PREFIX}/{dataset}/"


def expected_prefix(dataset: str) -> str:
    return f"{INCOMING_PREFIX}/{dataset}/"


# --- validate ------------------------------------------------------------------------------------


def validate_object(obj: IngestObject, *, s3: Any, contract: Contract, lake: Lake, limits: Limits) -> dict[str, Any]:
    """Validate one raw object version and store its report (JSON + HTML). Returns the verdict."""
    if obj.dataset != contract.dataset:
        raise SageLaneError(f"event for dataset {obj.dataset!r} given the contract of {contract.dataset!r}")
    from sagelane.validation.engine import validate_file

    with tempfile.TemporaryDirectory(prefix="sagelane-") as tmp:
        local, sha256 = download(s3, obj, Path(tmp), limits)
        validation = validate_file(local, contract, source=obj.uri, limits=limits)
    return store_report(s3, lake, obj, validation.report, sha256)


def store_report(
    s3: Any, lake: Lake, obj: IngestObject, report: ValidationReport, sha256: str | None
) -> dict[str, Any]:
    """Write a report (JSON + HTML) where the lake keeps it for this verdict; return the verdict."""
    passed = report.status == "passed"
    bucket, prefix = lake.report_prefix(obj, passed=passed)
    document = report.to_dict()
    document["object"] = {"uri": obj.uri, "version_id": obj.version_id, "sha256": sha256, "bytes": obj.size}
    put(s3, bucket, prefix + "report.json", json.dumps(document, indent=2, default=str).encode(), "application/json")
    put(s3, bucket, prefix + "report.html", report.to_html().encode(), "text/html; charset=utf-8")
    return {
        "status": report.status,
        "passed": passed,
        "summary": report.summary,
        "rows": report.rows,
        "failed_rules": [r.rule for r in report.failed_rules],
        "error_code": report.error["code"] if report.error else None,
        "sha256": sha256,
        "report_json": f"s3://{bucket}/{prefix}report.json",
        "report_html": f"s3://{bucket}/{prefix}report.html",
    }


def download(s3: Any, obj: IngestObject, folder: Path, limits: Limits) -> tuple[Path, str]:
    """Stream the object version to ``folder``, hashing it, refusing to go past ``limits.max_bytes``."""
    if obj.size > limits.max_bytes:
        raise ObjectTooLargeError(
            f"{obj.uri} is {obj.size:,} bytes, above the Lambda engine's limit of {limits.max_bytes:,} bytes"
        )
    extra = {"VersionId": obj.version_id} if obj.version_id else {}
    try:
        response = s3.get_object(Bucket=obj.bucket, Key=obj.key, **extra)
    except s3.exceptions.NoSuchKey:
        raise ObjectNotFoundError(f"{obj.uri} (version {obj.version_id}) does not exist") from None
    except s3.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchVersion", "NoSuchKey", "404", "InvalidArgument"):
            raise ObjectNotFoundError(f"{obj.uri} (version {obj.version_id}) does not exist: {code}") from None
        raise
    local = folder / Path(obj.key).name
    digest = hashlib.sha256()
    written = 0
    with local.open("wb") as out:
        for chunk in response["Body"].iter_chunks(CHUNK):
            written += len(chunk)
            if written > limits.max_bytes:
                raise ObjectTooLargeError(f"{obj.uri} grew past {limits.max_bytes:,} bytes while downloading")
            digest.update(chunk)
            out.write(chunk)
    return local, digest.hexdigest()


def put(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


# --- curate --------------------------------------------------------------------------------------


def curate_object(
    obj: IngestObject, *, s3: Any, glue: Any, contract: Contract, lake: Lake, limits: Limits, salt: bytes
) -> dict[str, Any]:
    """Write the validated object as Parquet into the curated zone and register its partition."""
    import polars as pl

    from sagelane.validation.engine import validate_file

    with tempfile.TemporaryDirectory(prefix="sagelane-") as tmp:
        local, sha256 = download(s3, obj, Path(tmp), limits)
        validation = validate_file(local, contract, source=obj.uri, limits=limits)
        if not validation.passed or validation.frame is None:
            # The object changed verdict between steps: only possible if the contract changed mid-run.
            raise SageLaneError(f"{obj.uri} no longer passes its contract: {validation.report.summary}")
        frame = protect_pii(validation.frame, contract, salt)
        frame = frame.select(
            [
                pl.col(c.name) if c.name in frame.columns else pl.lit(None).alias(c.name)
                for c in contract.curated_columns
            ]
        )
        parquet = Path(tmp) / "curated.parquet"
        frame.write_parquet(parquet, compression="zstd", statistics=True)
        key = f"{lake.curated_partition(obj)}{obj.run_name}.parquet"
        s3.upload_file(
            str(parquet), lake.curated_bucket, key, ExtraArgs={"ContentType": "application/vnd.apache.parquet"}
        )
    partition = register_partition(glue, lake, contract, obj.ingest_date)
    return {
        "curated_uri": f"s3://{lake.curated_bucket}/{key}",
        "rows": frame.height,
        "partition": partition,
        "sha256": sha256,
    }


def protect_pii(frame: Any, contract: Contract, salt: bytes) -> Any:
    """Hash (HMAC-SHA256 with the secret salt) or drop the contract's PII columns."""
    import polars as pl

    drops = [c.name for c in contract.columns if c.pii is PiiAction.DROP and c.name in frame.columns]
    hashed = [c.name for c in contract.columns if c.pii is PiiAction.HASH and c.name in frame.columns]
    frame = frame.drop(drops)
    if not hashed:
        return frame
    if not salt:
        raise SageLaneError("the PII salt is empty: refusing to hash PII without a secret")

    def keyed(value: str) -> str:
        return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()

    columns = []
    for name in hashed:
        unique = frame.get_column(name).drop_nulls().unique()
        mapping = pl.DataFrame({name: unique, "\x00hashed": [keyed(v) for v in unique.to_list()]})
        columns.append((name, mapping))
    for name, mapping in columns:
        frame = frame.join(mapping, on=name, how="left", maintain_order="left").drop(name).rename({"\x00hashed": name})
    return frame


def register_partition(glue: Any, lake: Lake, contract: Contract, ingest_date: str) -> str:
    location = f"{lake.curated_table_location(contract.dataset)}{PARTITION_KEY}={ingest_date}/"
    # another file of the same day may have registered it: partitions are per day, files are many
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_partition(
            DatabaseName=lake.glue_database,
            TableName=table_name(contract),
            PartitionInput={
                "Values": [ingest_date],
                "StorageDescriptor": {"Columns": glue_columns(contract), "Location": location, **PARQUET_STORAGE},
            },
        )
    return f"{PARTITION_KEY}={ingest_date}"


# --- quarantine ----------------------------------------------------------------------------------


def quarantine_object(obj: IngestObject, *, s3: Any, lake: Lake) -> dict[str, Any]:
    """Copy the raw object version next to its report in the quarantine zone (the original stays)."""
    prefix = lake.quarantine_prefix(obj)
    key = prefix + Path(obj.key).name
    source: dict[str, str] = {"Bucket": obj.bucket, "Key": obj.key}
    if obj.version_id:
        source["VersionId"] = obj.version_id
    s3.copy(source, lake.quarantine_bucket, key)  # managed copy: multipart above 8 MB, any size
    return {
        "quarantine_uri": f"s3://{lake.quarantine_bucket}/{key}",
        "report_html": f"s3://{lake.quarantine_bucket}/{prefix}report.html",
    }
