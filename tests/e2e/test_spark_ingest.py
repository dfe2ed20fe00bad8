"""Files above the Lambda limit take the Spark path on the embedded AWS: the real Glue script, local PySpark.
Backfills (a Distributed Map of ingest runs) are tested here too: they mix both engines.

The environment is dev with ``ingest.lambda_max_object_mb: 1``, so a churn export of a few MB is
routed to ``glue:startJobRun.sync``; the job validates, curates or quarantines, and the workflow ends
as it does for small files.
"""

from __future__ import annotations

import io

import boto3
import polars as pl
import pytest

from sagelane.samples import churn_frame, write_frame
from tests.e2e.test_ingest_workflow import REGION, bucket, drop, ingest_cloud, keys
from tests.synth import synthesize

pytestmark = pytest.mark.slow
ROWS = 30_000  # about 4 MB of CSV: above the 1 MB limit


@pytest.fixture(scope="module")
def small_lambda(root, tmp_path_factory):
    return synthesize(root, "dev", tmp_path_factory.mktemp("cdk-spark"), ingest={"lambda_max_object_mb": 1})


@pytest.fixture
def cloud(small_lambda, spark, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with ingest_cloud(small_lambda.outdir) as local:
        yield local


def entered(execution_arn: str) -> list[str]:
    history = boto3.client("stepfunctions", region_name=REGION).get_execution_history(executionArn=execution_arn)
    return [e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e]


def test_a_large_good_file_is_validated_and_curated_by_the_glue_job(cloud, tmp_path):
    frame = churn_frame(ROWS, seed=11)
    path = write_frame(frame, tmp_path / "big.csv")
    assert path.stat().st_size > 1024 * 1024
    (delivery,) = drop(cloud, "churn", path)

    result = cloud.wait(delivery.execution_arn, timeout=600)

    assert result["status"] == "SUCCEEDED", result
    steps = entered(delivery.execution_arn)
    assert "ValidateWithSpark" in steps and "Validate" not in steps and "Curate" not in steps
    assert steps[-3:] == ["RecordCurated", "AnnounceCurated", "Curated"]
    s3 = boto3.client("s3", region_name=REGION)
    parts = keys(bucket("curated"), "data/churn/")
    assert parts and all(k.endswith(".parquet") and "/ingest_date=" in k for k in parts)
    table = pl.concat(
        [pl.read_parquet(io.BytesIO(s3.get_object(Bucket=bucket("curated"), Key=k)["Body"].read())) for k in parts]
    )
    assert table.height == ROWS and "phone" not in table.columns
    # e-mails hashed with the same HMAC as the curate Lambda: 64 hex characters, never the address
    assert table["email"].drop_nulls().str.len_chars().unique().to_list() == [64]
    assert keys(bucket("curated"), "_staging/") == []
    report = [k for k in keys(bucket("curated"), "reports/churn/") if k.endswith("report.json")]
    assert len(report) == 1
    assert b'"engine": "spark ' in s3.get_object(Bucket=bucket("curated"), Key=report[0])["Body"].read()


def test_a_large_bad_file_is_quarantined_by_the_glue_job_and_notified(cloud, tmp_path):
    path = write_frame(churn_frame(ROWS, seed=11, defects=True), tmp_path / "big-bad.csv")
    (delivery,) = drop(cloud, "churn", path)

    result = cloud.wait(delivery.execution_arn, timeout=600)

    assert result["status"] == "FAILED" and result["error"] == "DataValidationFailed", result
    assert "rules failed" in result["cause"]
    assert entered(delivery.execution_arn)[-3:] == ["RecordQuarantined", "NotifyRejected", "DataValidationFailed"]
    names = [k.rsplit("/", 1)[1] for k in keys(bucket("quarantine"), "churn/")]
    assert names == ["big-bad.csv", "report.html", "report.json"]
    assert keys(bucket("curated"), "data/") == []
    assert keys(bucket("raw")) == ["incoming/churn/big-bad.csv"]


def test_a_backfill_ingests_every_file_under_the_prefix_and_summarizes(cloud, tmp_path, penguins_csv, capsys):
    """Distributed Map on the embedded AWS: a small file (Lambda), a large one (Glue), a bad one; then again."""
    from sagelane.cli import main

    s3 = boto3.client("s3", region_name=REGION)
    folder = "incoming/churn/2025/"
    big = write_frame(churn_frame(ROWS, seed=3), tmp_path / "big.csv")
    small = write_frame(churn_frame(400, seed=4), tmp_path / "small.csv")
    bad = write_frame(churn_frame(400, seed=4, defects=True), tmp_path / "bad.csv")
    for path in (big, small, bad):
        s3.upload_file(str(path), bucket("raw"), folder + path.name)
    # (the uploads' own events wait in the tap queue: nothing pumps it here, the backfill is the only ingest)

    code = main(["data", "backfill", "--dataset", "churn", "--prefix", folder, "--wait", "--timeout", "900"])
    out = capsys.readouterr().out
    assert code == 1, out  # one file was quarantined
    assert "3 file(s): 2 curated, 1 quarantined, 0 refused, 0 failed, 0 already ingested" in out, out
    assert "DataValidationFailed: incoming/churn/2025/bad.csv" in out

    # run again: every version is in the ledger, nothing is validated twice
    assert main(["data", "backfill", "--dataset", "churn", "--prefix", folder, "--wait"]) == 0
    assert "3 file(s): 0 curated, 0 quarantined, 0 refused, 0 failed, 3 already ingested" in capsys.readouterr().out


def test_a_backfill_outside_the_datasets_folder_is_refused(cloud, capsys):
    from sagelane.cli import main

    assert main(["data", "backfill", "--dataset", "churn", "--prefix", "incoming/penguins/"]) == 2
    assert "is not under 'incoming/churn/'" in capsys.readouterr().err
