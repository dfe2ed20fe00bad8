"""The validation engine against real, synthetic and hostile files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from sagelane.samples import churn_frame, write_frame
from sagelane.validation import Limits, validate_file
from tests.corpus import BAD_FILES, Case


def messages(report) -> str:
    parts = [r.message for r in report.failed_rules]
    if report.error:
        parts.append(report.error["message"])
    return "\n".join(parts)


def test_real_penguins_table_passes_with_its_missing_values(penguins, penguins_csv):
    report = validate_file(penguins_csv, penguins).report
    assert report.status == "passed", messages(report)
    assert report.rows == 344
    # the NAs are counted, not hidden
    assert report.profile["sex"]["nulls"] == 11
    assert report.profile["bill_length_mm"]["nulls"] == 2


@pytest.mark.parametrize("suffix", ["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz"])
def test_clean_churn_passes_in_every_accepted_format(churn, tmp_path, suffix):
    frame = churn_frame(3000, seed=3)
    path = tmp_path / f"churn.{suffix}"
    if suffix == "jsonl.gz":
        import gzip

        path.write_bytes(gzip.compress(frame.write_ndjson().encode()))
    else:
        write_frame(frame, path)
    report = validate_file(path, churn).report
    assert report.status == "passed", messages(report)
    assert report.rows == 3000


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_defective_churn_fails_the_same_rules_with_the_same_counts_in_every_format(churn, tmp_path, suffix):
    frame = churn_frame(3000, seed=3, defects=True)
    report = validate_file(write_frame(frame, tmp_path / f"bad.{suffix}"), churn).report
    failed = {r.rule: r.failed_count for r in report.failed_rules}
    assert report.status == "failed"
    assert set(failed) == {
        "column.customer_id.unique",
        "column.email.pattern",
        "column.plan.allowed_values",
        "column.monthly_charges.range",
        "column.monthly_charges.non_null_ratio",
    }
    # the counts are the defects the generator injected (15 of each kind for 3000 rows)
    assert failed["column.customer_id.unique"] == 15
    assert failed["column.plan.allowed_values"] == 15
    assert failed["column.email.pattern"] == 15


def test_failed_rules_carry_example_rows_with_file_line_numbers(churn, tmp_path):
    frame = churn_frame(500, seed=1).with_columns(
        pl.when(pl.int_range(pl.len()) == 41).then(pl.lit("platinum")).otherwise(pl.col("plan")).alias("plan")
    )
    report = validate_file(write_frame(frame, tmp_path / "one.csv"), churn).report
    (rule,) = report.failed_rules
    assert rule.rule == "column.plan.allowed_values"
    (example,) = rule.examples
    assert (example.row, example.line, example.values) == (42, 43, {"plan": "platinum"})


def test_stale_data_fails_freshness(churn, tmp_path):
    old = datetime.now(UTC) - timedelta(days=90)
    path = write_frame(churn_frame(500, as_of=old), tmp_path / "old.parquet")
    report = validate_file(path, churn).report
    assert [r.rule for r in report.failed_rules] == ["dataset.freshness"]
    assert "days old; maximum 30" in report.failed_rules[0].message


@pytest.mark.parametrize("case", BAD_FILES, ids=lambda c: c.name)
def test_bad_file_gets_a_specific_verdict_and_message(penguins, tmp_path, case: Case):
    path = tmp_path / case.filename
    case.make(path)
    report = validate_file(path, penguins).report
    assert report.status == case.status, messages(report)
    if case.status == "unreadable":
        assert report.error is not None and report.error["code"] == case.expect[0]
    else:
        assert set(case.expect) <= {r.rule for r in report.failed_rules}
    assert case.message in messages(report)
    # every report serializes (it is stored beside the data) and its page renders
    assert json.loads(report.to_json())["status"] == case.status
    assert "<html" in report.to_html()


def test_gzip_cap_holds_even_for_plausible_ratios(penguins, tmp_path):
    path = tmp_path / "big.csv.gz"
    import gzip

    path.write_bytes(gzip.compress(b"\n".join([b"species"] + [b"Adelie"] * 200_000)))
    report = validate_file(path, penguins, limits=Limits(max_uncompressed_bytes=100_000)).report
    assert report.error is not None and report.error["code"] == "decompression_limit"
    assert "inflates to more than" in report.error["message"]


def test_files_above_the_size_limit_are_refused_before_reading(penguins, penguins_csv):
    report = validate_file(penguins_csv, penguins, limits=Limits(max_bytes=1000)).report
    assert report.error == {"code": "too_large", "message": report.error["message"]}
    assert "above this engine's limit" in report.error["message"]


def test_format_the_contract_does_not_accept_is_refused(penguins, tmp_path):
    restricted = penguins.model_copy(update={"format": penguins.format.model_copy(update={"accepted": ["csv"]})})
    path = tmp_path / "p.parquet"
    write_frame(churn_frame(100), path)
    report = validate_file(path, restricted).report
    assert report.error is not None and report.error["code"] == "format_not_accepted"
    assert "parquet, which the penguins contract does not accept (accepted: csv)" in report.error["message"]


def test_html_report_escapes_hostile_names_and_values(penguins, tmp_path):
    hostile = "<script>alert(1)</script>"
    path = tmp_path / "xss.csv"
    path.write_text(f"species,{hostile}\n{hostile},1\n")
    html = validate_file(path, penguins, source=f"s3://b/{hostile}.csv").report.to_html()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_typed_frame_matches_the_contract_types(churn, tmp_path):
    validation = validate_file(write_frame(churn_frame(200), tmp_path / "c.csv"), churn)
    schema = validation.frame.schema
    assert schema["signup_date"] == pl.Date
    assert schema["last_activity_at"] == pl.Datetime("us", "UTC")
    assert schema["autopay"] == pl.Boolean
    assert schema["tenure_months"] == pl.Int64
