"""moto-backed AWS: a lake laid out as the DataLake stack lays it out (buckets, catalog, salt)."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sagelane import aws, settings
from sagelane.catalog import PARQUET_STORAGE, glue_columns, partition_keys, table_name
from sagelane.ingest.steps import IngestObject, Lake
from sagelane.local import gate
from sagelane.validation import Limits

REGION = "us-east-1"
SALT = "s3cr3t-salt-for-tests"


@dataclass
class MotoLake:
    lake: Lake
    s3: Any
    glue: Any
    salt_arn: str

    def drop(self, dataset: str, path: Path, *, name: str | None = None) -> IngestObject:
        """Upload a file under incoming/<dataset>/ and return the event the workflow would get."""
        key = f"{settings.INCOMING_PREFIX}/{dataset}/{name or path.name}"
        self.s3.upload_file(str(path), self.lake.raw_bucket, key)
        head = self.s3.head_object(Bucket=self.lake.raw_bucket, Key=key)
        return IngestObject(
            dataset=dataset,
            bucket=self.lake.raw_bucket,
            key=key,
            version_id=head["VersionId"],
            etag=head["ETag"].strip('"'),
            size=head["ContentLength"],
            event_time="2026-11-23T10:00:00Z",
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.fixture(autouse=True, scope="session")
def request_validation():
    """Requests are validated against the API models here too, as the embedded AWS validates them."""
    gate.install()
    yield
    gate.uninstall()


@pytest.fixture
def moto_lake(project, monkeypatch):
    with mock_aws():
        aws.reset()
        s3 = boto3.client("s3", region_name=REGION)
        glue = boto3.client("glue", region_name=REGION)
        names = {zone: f"sagelane-test-{zone}" for zone in ("raw", "curated", "quarantine")}
        for name in names.values():
            s3.create_bucket(Bucket=name)
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        lake = Lake(names["raw"], names["curated"], names["quarantine"], "sagelane_test")
        glue.create_database(DatabaseInput={"Name": lake.glue_database})
        for contract in project.contracts.values():
            glue.create_table(
                DatabaseName=lake.glue_database,
                TableInput={
                    "Name": table_name(contract),
                    "PartitionKeys": partition_keys(),
                    "StorageDescriptor": {
                        "Columns": glue_columns(contract),
                        "Location": lake.curated_table_location(contract.dataset),
                        **PARQUET_STORAGE,
                    },
                },
            )
        salt_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(Name="salt", SecretString=SALT)[
            "ARN"
        ]
        # What the stacks set on the functions (see stacks/ingest_stack.py).
        for name, value in {
            settings.RAW_BUCKET: lake.raw_bucket,
            settings.CURATED_BUCKET: lake.curated_bucket,
            settings.QUARANTINE_BUCKET: lake.quarantine_bucket,
            settings.GLUE_DATABASE: lake.glue_database,
            settings.PII_SALT_SECRET_ARN: salt_arn,
            settings.MAX_OBJECT_BYTES: str(Limits().max_bytes),
            settings.MAX_UNCOMPRESSED_BYTES: str(Limits().max_uncompressed_bytes),
            "POWERTOOLS_METRICS_NAMESPACE": "SageLane/test",
            "POWERTOOLS_SERVICE_NAME": "sagelane-test",
        }.items():
            monkeypatch.setenv(name, value)
        yield MotoLake(lake=lake, s3=s3, glue=glue, salt_arn=salt_arn)
        aws.reset()


def load_handler(root: Path, name: str) -> ModuleType:
    """Import ``lambdas/<name>/handler.py`` as Lambda would (each under its own module name)."""
    spec = importlib.util.spec_from_file_location(f"lambda_{name}", root / "lambdas" / name / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class FakeContext:
    function_name = "sagelane-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sagelane-test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/sagelane-test"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000
