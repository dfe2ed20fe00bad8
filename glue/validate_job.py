"""The Glue job (Glue 5.0, Spark 3.5) that ingests one object too large for the validate Lambda.

Started by the ingest workflow with ``glue:startJobRun.sync`` and one run per object version. The work
is in ``sagelane.ingest.spark_job`` (shipped beside this script as ``--extra-py-files``, with the
environment's contracts); this file only reads the run's arguments and makes the clients.

Arguments (``--name value``; the defaults come from the job definition):
  --dataset --bucket --key --version_id --size --etag --event_time   the object (the workflow's input)
  --result_uri            where the verdict is written for the workflow to read
  --curated_bucket --quarantine_bucket --glue_database --pii_salt_secret_arn
  --max_object_bytes --max_uncompressed_bytes
  --sagelane_local_dir    (embedded AWS only) read and write through this local folder
  --sagelane_contracts_dir  (embedded AWS only) the contracts of the staged package
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from sagelane import aws
from sagelane.ingest.spark_job import Storage, ingest_large_object
from sagelane.ingest.steps import IngestObject, Lake
from sagelane.runtime import packaged_contract
from sagelane.validation.preflight import Limits

ARGUMENTS = [
    "dataset",
    "bucket",
    "key",
    "version_id",
    "size",
    "etag",
    "event_time",
    "result_uri",
    "curated_bucket",
    "quarantine_bucket",
    "glue_database",
    "pii_salt_secret_arn",
    "max_object_bytes",
    "max_uncompressed_bytes",
]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="validate_job")
    for name in ARGUMENTS:
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--sagelane_local_dir")
    parser.add_argument("--sagelane_contracts_dir")
    args, _ = parser.parse_known_args(argv)  # Glue adds its own (--JOB_ID, --job-bookmark-option, ...)
    return args


def main(argv: list[str] | None = None) -> dict:
    from pyspark.sql import SparkSession

    args = parse(sys.argv[1:] if argv is None else argv)
    spark = SparkSession.builder.getOrCreate()
    s3, glue, secrets = aws.client("s3"), aws.client("glue"), aws.client("secretsmanager")
    obj = IngestObject(
        dataset=args.dataset,
        bucket=args.bucket,
        key=args.key,
        version_id=args.version_id or None,
        etag=args.etag or None,
        size=int(args.size),
        event_time=args.event_time,
    )
    lake = Lake(
        raw_bucket=args.bucket,
        curated_bucket=args.curated_bucket,
        quarantine_bucket=args.quarantine_bucket,
        glue_database=args.glue_database,
    )

    @functools.cache
    def salt() -> bytes:
        return secrets.get_secret_value(SecretId=args.pii_salt_secret_arn)["SecretString"].encode("utf-8")

    result = ingest_large_object(
        obj,
        spark=spark,
        s3=s3,
        glue=glue,
        contract=packaged_contract(
            args.dataset, Path(args.sagelane_contracts_dir) if args.sagelane_contracts_dir else None
        ),
        lake=lake,
        limits=Limits(max_bytes=int(args.max_object_bytes), max_uncompressed_bytes=int(args.max_uncompressed_bytes)),
        salt=salt,
        storage=Storage(Path(args.sagelane_local_dir) if args.sagelane_local_dir else None),
        result_uri=args.result_uri,
    )
    print(f"{obj.uri}: {result['validation']['summary']}")
    return result


if __name__ == "__main__":
    main()
