"""The ingest steps against moto S3 / Glue / Secrets Manager, through the real Lambda handlers."""

from __future__ import annotations

import hashlib
import hmac
import io
import json

import polars as pl
import pytest

from sagelane.ingest import runtime
from sagelane.samples import churn_frame, write_frame
from tests.aws.conftest import SALT, FakeContext, load_handler
from tests.corpus import BAD_FILES


@pytest.fixture
def handlers(root, project, tmp_path, monkeypatch):
    # The deployed functions read the contracts as JSON from their code asset; stage them the same way.
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    for name, contract in project.contracts.items():
        (contracts / f"{name}.json").write_text(contract.model_dump_json())
    monkeypatch.setenv("SAGELANE_CONTRACTS_DIR", str(contracts))
    runtime.contract.cache_clear()
    runtime.pii_salt.cache_clear()
    yield {name: load_handler(root, f"ingest_{name}") for name in ("validate", "curate", "quarantine")}
    runtime.contract.cache_clear()
    runtime.pii_salt.cache_clear()


def invoke(handler, obj) -> dict:
    return handler.lambda_handler(obj.model_dump(), FakeContext())


def test_good_file_is_curated_as_parquet_with_pii_hashed_and_partition_registered(moto_lake, handlers, tmp_path):
    # given a clean churn export dropped into the raw zone
    frame = churn_frame(400, seed=11)
    obj = moto_lake.drop("churn", write_frame(frame, tmp_path / "churn.csv"))

    # when the workflow validates, then curates it
    verdict = invoke(handlers["validate"], obj)
    assert verdict["passed"] is True and verdict["rows"] == 400
    curated = invoke(handlers["curate"], obj)

    # then the report sits beside the curated data
    lake = moto_lake.lake
    reports = moto_lake.keys(lake.curated_bucket, "reports/churn/")
    assert [k.rsplit("/", 1)[1] for k in reports] == ["report.html", "report.json"]
    report = json.loads(moto_lake.s3.get_object(Bucket=lake.curated_bucket, Key=reports[1])["Body"].read())
    assert report["object"]["version_id"] == obj.version_id
    assert report["object"]["sha256"] == hashlib.sha256((tmp_path / "churn.csv").read_bytes()).hexdigest()

    # and the Parquet holds every row, e-mails keyed-hashed, phones dropped
    (data_key,) = moto_lake.keys(lake.curated_bucket, "data/churn/")
    assert data_key.startswith("data/churn/ingest_date=2026-11-23/churn-")
    body = moto_lake.s3.get_object(Bucket=lake.curated_bucket, Key=data_key)["Body"].read()
    table = pl.read_parquet(io.BytesIO(body))
    assert table.height == 400 == curated["rows"]
    assert "phone" not in table.columns
    first_email = frame["email"].drop_nulls()[0]
    expected = hmac.new(SALT.encode(), first_email.encode(), hashlib.sha256).hexdigest()
    assert expected in table["email"].to_list()
    assert first_email not in table["email"].to_list()
    assert table["email"].null_count() == frame["email"].null_count()  # missing stays missing, not hashed

    # and Glue knows the partition
    partition = moto_lake.glue.get_partition(
        DatabaseName=lake.glue_database, TableName="churn", PartitionValues=["2026-11-23"]
    )["Partition"]
    assert partition["StorageDescriptor"]["Location"].endswith("/data/churn/ingest_date=2026-11-23/")

    # and the raw original is untouched
    raw = moto_lake.s3.list_object_versions(Bucket=lake.raw_bucket, Prefix=obj.key)["Versions"]
    assert [v["VersionId"] for v in raw] == [obj.version_id]


def test_bad_file_is_quarantined_with_its_report_and_the_original_kept(moto_lake, handlers, tmp_path):
    case = next(c for c in BAD_FILES if c.name == "unknown categories")
    path = tmp_path / case.filename
    case.make(path)
    obj = moto_lake.drop("penguins", path)

    verdict = invoke(handlers["validate"], obj)
    assert verdict["passed"] is False
    assert verdict["failed_rules"] == ["column.species.allowed_values"]
    moved = invoke(handlers["quarantine"], obj)

    lake = moto_lake.lake
    keys = moto_lake.keys(lake.quarantine_bucket)
    folder = lake.quarantine_prefix(obj)
    assert keys == [folder + "categories.csv", folder + "report.html", folder + "report.json"]
    assert moved["quarantine_uri"] == f"s3://{lake.quarantine_bucket}/{folder}categories.csv"
    copy = moto_lake.s3.get_object(Bucket=lake.quarantine_bucket, Key=folder + "categories.csv")["Body"].read()
    assert copy == path.read_bytes()
    # nothing reached the curated zone, and raw still holds the original
    assert moto_lake.keys(lake.curated_bucket) == []
    assert moto_lake.keys(lake.raw_bucket) == [obj.key]


def test_unreadable_file_is_quarantined_too(moto_lake, handlers, tmp_path):
    path = tmp_path / "cut.csv.gz"
    next(c for c in BAD_FILES if c.name == "truncated gzip").make(path)
    obj = moto_lake.drop("penguins", path)
    verdict = invoke(handlers["validate"], obj)
    assert verdict["status"] == "unreadable" and verdict["error_code"] == "truncated_gzip"
    assert verdict["report_json"].startswith(f"s3://{moto_lake.lake.quarantine_bucket}/penguins/")


def test_running_a_step_twice_for_one_version_writes_one_output(moto_lake, handlers, penguins_csv):
    obj = moto_lake.drop("penguins", penguins_csv)
    for _ in range(2):
        invoke(handlers["validate"], obj)
        invoke(handlers["curate"], obj)
    assert len(moto_lake.keys(moto_lake.lake.curated_bucket, "data/penguins/")) == 1
    assert len(moto_lake.keys(moto_lake.lake.curated_bucket, "reports/penguins/")) == 2  # json + html


def test_a_new_version_of_the_same_key_is_curated_separately(moto_lake, handlers, penguins_csv, tmp_path):
    first = moto_lake.drop("penguins", penguins_csv, name="daily.csv")
    second = moto_lake.drop("penguins", penguins_csv, name="daily.csv")
    assert first.version_id != second.version_id
    for obj in (first, second):
        invoke(handlers["curate"], obj)
    assert len(moto_lake.keys(moto_lake.lake.curated_bucket, "data/penguins/")) == 2


def test_missing_object_version_is_a_named_error(moto_lake, handlers, penguins_csv):
    obj = moto_lake.drop("penguins", penguins_csv)
    gone = obj.model_copy(update={"version_id": "not-a-real-version"})
    with pytest.raises(Exception) as error:
        invoke(handlers["validate"], gone)
    assert type(error.value).__name__ == "ObjectNotFoundError"


def test_event_for_an_unknown_dataset_is_a_named_error(moto_lake, handlers, penguins_csv):
    obj = moto_lake.drop("penguins", penguins_csv).model_copy(update={"dataset": "iris"})
    with pytest.raises(Exception) as error:
        invoke(handlers["validate"], obj)
    assert type(error.value).__name__ == "UnknownDatasetError"
    assert "known: churn, penguins" in str(error.value)


def test_malformed_event_is_rejected_by_the_handler(moto_lake, handlers):
    with pytest.raises(Exception) as error:
        handlers["validate"].lambda_handler({"bucket": "b"}, FakeContext())
    assert type(error.value).__name__ == "ValidationError"
