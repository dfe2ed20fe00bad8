"""The ingest of one large object with the Spark engine: what the Glue job (``glue/validate_job.py``) runs.

It does what the validate, curate and quarantine Lambdas do for smaller files, with the same outputs in
the same places: the report (JSON + HTML) beside the curated data or the quarantined copy, curated
Parquet in the dataset's daily partition (PII hashed with the same HMAC or dropped), the partition in
the Glue Data Catalog. It ends by writing its verdict to ``result_uri``, which the ingest workflow reads
after ``glue:startJobRun.sync`` to take the same Curated / DataValidationFailed paths as the Lambdas.

No polars here: the Glue job has Spark, pandas and pyarrow, and installs only pydantic.

Where the data lives for Spark is a :class:`Storage`: S3 paths on Glue; on the embedded AWS (moto, no
S3 connector in local Spark) local copies, uploaded after.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagelane.contract import Contract, PiiAction
from sagelane.errors import SageLaneError
from sagelane.ingest.steps import IngestObject, Lake, put, quarantine_object, register_partition, store_report
from sagelane.validation.preflight import Limits, Source
from sagelane.validation.spark import validate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class ObjectChangedError(SageLaneError):
    """The key's current version is not the version the event named (Spark reads keys, not versions)."""


@dataclass(frozen=True)
class Storage:
    """Where Spark reads the object and writes the curated Parquet.

    ``local_dir`` unset: on Glue, Spark reads and writes S3 itself. Set: the object is downloaded there
    first and the Parquet written there, then uploaded to the same staging prefix (the embedded AWS).
    Either way :func:`publish_staged` moves the files into the partition.
    """

    local_dir: Path | None = None

    def location(self, s3: Any, obj: IngestObject) -> str:
        if self.local_dir is None:
            return f"s3://{obj.bucket}/{obj.key}"
        local = self.local_dir / "input" / Path(obj.key).name
        local.parent.mkdir(parents=True, exist_ok=True)
        extra = {"VersionId": obj.version_id} if obj.version_id else {}
        s3.download_file(obj.bucket, obj.key, str(local), ExtraArgs=extra or None)
        return local.as_uri()

    def write_parquet(self, frame: DataFrame, s3: Any, lake: Lake, obj: IngestObject) -> list[str]:
        """Write ``frame`` as Parquet files named after the run, straight into the daily partition."""
        partition = lake.curated_partition(obj)
        staging = f"_staging/{obj.run_name}/"
        if self.local_dir is None:
            target = f"s3://{lake.curated_bucket}/{staging}"
        else:
            target = (self.local_dir / "output").as_uri()
        frame.write.mode("overwrite").option("compression", "zstd").parquet(target)
        if self.local_dir is not None:  # what Spark on Glue writes to S3 itself
            for part in sorted((self.local_dir / "output").iterdir()):
                s3.upload_file(str(part), lake.curated_bucket, staging + part.name)
        keys = publish_staged(s3, lake.curated_bucket, staging, partition, obj.run_name)
        return keys


def publish_staged(s3: Any, bucket: str, staging: str, partition: str, run_name: str) -> list[str]:
    """Move the Parquet files Spark wrote under ``staging`` into ``partition``, named after the run.

    Athena and Glue read a partition's own files, not its sub-folders, so the files are renamed into it;
    the staging folder (Spark's markers included) is emptied.
    """
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=staging)
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]  # one file per Spark task
    keys = []
    for i, part in enumerate(sorted(k for k in listed if k.endswith(".parquet"))):
        key = f"{partition}{run_name}-{i:05d}.parquet"
        s3.copy(
            {"Bucket": bucket, "Key": part}, bucket, key, ExtraArgs={"ContentType": "application/vnd.apache.parquet"}
        )
        keys.append(key)
    for start in range(0, len(listed), 1000):
        chunk = [{"Key": k} for k in listed[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
    return keys


def ingest_large_object(
    obj: IngestObject,
    *,
    spark: SparkSession,
    s3: Any,
    glue: Any,
    contract: Contract,
    lake: Lake,
    limits: Limits,
    salt: Any,
    storage: Storage,
    result_uri: str,
) -> dict[str, Any]:
    """Validate, then curate or quarantine, one object version; write and return the verdict.

    ``salt`` is a callable returning the PII salt (read only when a passed file has columns to hash).
    """
    _check_current_version(s3, obj)
    location = storage.location(s3, obj)
    origin = Source.s3_object(s3, obj.bucket, obj.key, obj.version_id, obj.size)
    checked = validate(spark, origin, location, contract, source=obj.uri, limits=limits)
    verdict = store_report(s3, lake, obj, checked.report, None)
    result: dict[str, Any] = {"validation": verdict, "curation": None, "quarantine": None}
    try:
        if checked.passed and checked.frame is not None:
            frame = protect_pii(checked.frame, contract, salt)
            keys = storage.write_parquet(frame, s3, lake, obj)
            partition = register_partition(glue, lake, contract, obj.ingest_date)
            result["curation"] = {
                "curated_uri": f"s3://{lake.curated_bucket}/{keys[0]}" if keys else "",
                "files": len(keys),
                "rows": checked.report.rows,
                "partition": partition,
            }
        else:
            result["quarantine"] = quarantine_object(obj, s3=s3, lake=lake)
    finally:
        if checked.frame is not None:
            checked.frame.unpersist()
    bucket, key = _split(result_uri)
    put(s3, bucket, key, json.dumps(result, default=str).encode(), "application/json")
    return result


def protect_pii(frame: DataFrame, contract: Contract, salt: Any) -> DataFrame:
    """Drop or hash the contract's PII columns, with the HMAC-SHA256 the curate Lambda uses (joinable)."""
    from pyspark.sql import functions as F

    drops = [c.name for c in contract.columns if c.pii is PiiAction.DROP and c.name in frame.columns]
    hashed = [c.name for c in contract.columns if c.pii is PiiAction.HASH and c.name in frame.columns]
    frame = frame.drop(*drops)
    if hashed:
        key = salt()
        if not key:
            raise SageLaneError("the PII salt is empty: refusing to hash PII without a secret")
        hash_udf = F.pandas_udf(_hasher(key), "string")  # type: ignore[call-overload]
        frame = frame.select(*[hash_udf(F.col(n)).alias(n) if n in hashed else F.col(n) for n in frame.columns])
    return frame.select(
        *[F.col(c.name) if c.name in frame.columns else F.lit(None).alias(c.name) for c in contract.curated_columns]
    )


def _hasher(key: bytes):  # -> Callable[[pandas.Series], pandas.Series]
    def keyed(values):
        return values.map(
            lambda v: None if v is None else hmac.new(key, str(v).encode("utf-8"), hashlib.sha256).hexdigest()
        )

    return keyed


def _check_current_version(s3: Any, obj: IngestObject) -> None:
    if not obj.version_id:
        return
    head = s3.head_object(Bucket=obj.bucket, Key=obj.key)
    if head.get("VersionId") != obj.version_id:
        raise ObjectChangedError(
            f"{obj.uri}: version {obj.version_id} is no longer the current one ({head.get('VersionId')}); "
            "the Spark engine reads the current version, so this run stops rather than validate another "
            "file. The newer version has its own event and run."
        )


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def scratch() -> Path:
    """A local folder for the embedded AWS's :class:`Storage` (removed by :func:`clean`)."""
    return Path(tempfile.mkdtemp(prefix="sagelane-glue-"))


def clean(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
