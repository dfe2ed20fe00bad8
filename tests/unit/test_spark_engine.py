"""The Spark engine gives the polars engine's verdicts: same status, same failed rules, same counts.

Parity is by construction (both engines feed the same counts to the same rules) and checked here over
the whole bad-file corpus, clean and defective churn in every format, and values at the edges of the
shared coercion table.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import polars as pl
import pytest

from sagelane.contract import Contract
from sagelane.samples import churn_frame, write_frame
from sagelane.validation import validate_file
from sagelane.validation.spark import validate_path
from tests.corpus import BAD_FILES, Case

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def verdict(report) -> dict:
    """What must be equal between the engines."""
    return {
        "status": report.status,
        "error": report.error and report.error["code"],
        "rows": report.rows,
        "columns": report.columns,
        "rules": {r.rule: (r.passed, r.failed_count) for r in report.rules},
        "messages": sorted(r.message for r in report.rules),
    }


def both(path, contract, spark):
    fast = validate_file(path, contract, now=NOW)
    wide = validate_path(path, contract, spark=spark, now=NOW)
    return fast, wide


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_FILES, ids=[c.name for c in BAD_FILES])
def test_every_corpus_case_gets_the_same_verdict_from_both_engines(case: Case, penguins, spark, tmp_path):
    path = tmp_path / case.filename
    case.make(path)
    fast, wide = both(path, penguins, spark)
    assert verdict(wide.report) == verdict(fast.report)
    assert wide.report.status == case.status
    if case.status == "unreadable":
        # the same code and the same words, up to what the underlying reader says
        assert case.message in wide.report.error["message"]
    assert wide.report.engine.startswith("spark ")


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz"])
@pytest.mark.parametrize("defects", [False, True], ids=["clean", "defective"])
def test_churn_gets_the_same_verdict_counts_and_examples_in_every_format(churn, spark, tmp_path, suffix, defects):
    frame = churn_frame(2000, seed=5, defects=defects, as_of=NOW)
    path = tmp_path / f"churn.{suffix}"
    if suffix == "jsonl.gz":
        path.write_bytes(gzip.compress(frame.write_ndjson().encode()))
    else:
        write_frame(frame, path)
    fast, wide = both(path, churn, spark)
    assert verdict(wide.report) == verdict(fast.report)
    assert wide.report.status == ("failed" if defects else "passed")
    for mine, theirs in zip(wide.report.rules, fast.report.rules, strict=True):
        assert [(e.row, e.line) for e in mine.examples] == [(e.row, e.line) for e in theirs.examples], mine.rule
    for name, figures in fast.report.profile.items():
        spark_figures = wide.report.profile[name]
        for field in ("nulls", "min", "max", "distinct", "min_length", "max_length"):
            assert spark_figures.get(field) == figures.get(field), (name, field)
        for field in ("mean", "std"):
            assert spark_figures.get(field) == pytest.approx(figures.get(field)), (name, field)
        if "histogram" in figures:
            assert sum(spark_figures["histogram"]) == sum(figures["histogram"])


EDGES = {
    "n": ["3", " 4 ", "3.0", "1e3", "+5", "-0", "99999999999999999999", "x", ".5", "1_000"],
    "x": ["1.5", " 2 ", "1e3", "inf", "-Infinity", "NaN", "1.5d", "0x10", ".5", "5."],
    "b": ["true", " YES ", "n", "0", "T", "maybe", "1", "False", "y", "2"],
    "d": ["2026-01-05", " 2026-11-20", "2026-1-5", "2026/01/05", "2026-02-30", "20260105", "x", "2026-12-31", "", "NA"],
    "t": [
        "2026-11-20T10:00:00.000000+0000",
        "2026-11-20 10:00:00",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00+01:00",
        "2026-11-20T10:00",
        "2026-11-20T10:00:00.123456789Z",
        "2026-11-20T10:00:00+0130",
        "2026-11-20",
        "2026-11-20T25:00:00",
        "20.11.2026 10:00",
    ],
}
EDGE_CONTRACT = {
    "dataset": "edges",
    "columns": [
        {"name": "n", "type": "integer"},
        {"name": "x", "type": "float"},
        {"name": "b", "type": "boolean"},
        {"name": "d", "type": "date"},
        {"name": "t", "type": "datetime"},
    ],
}


@pytest.mark.slow
def test_text_values_convert_alike_at_the_edges_of_every_type(spark, tmp_path):
    contract = Contract.model_validate(EDGE_CONTRACT)
    path = tmp_path / "edges.csv"
    pl.DataFrame(EDGES).write_csv(path)
    fast, wide = both(path, contract, spark)
    assert verdict(wide.report) == verdict(fast.report)
    spark_rows = [r.asDict() for r in wide.frame.collect()]
    polars_rows = fast.frame.to_dicts()
    for mine, theirs in zip(spark_rows, polars_rows, strict=True):
        theirs["t"] = theirs["t"] and theirs["t"].replace(tzinfo=None)  # Spark hands back naive UTC
        assert json.dumps(mine, default=str) == json.dumps(theirs, default=str)
    # the pattern gate: what Spark's casts alone would take (3.0 as 3, "1.5d", a bare date as midnight) is refused
    assert [r["n"] for r in spark_rows][:4] == [3, 4, None, None]
    assert spark_rows[6]["x"] is None and spark_rows[7]["t"] is None


def test_the_glue_job_imports_no_polars(root):
    """Glue 5.0 has Spark, pandas and pyarrow but not polars: the job's imports must not reach it."""
    import subprocess
    import sys

    code = (
        "import sys, runpy; sys.modules['polars'] = None; "
        f"runpy.run_path({str(root / 'glue' / 'validate_job.py')!r}, run_name='check'); "
        "import sagelane.ingest.spark_job, sagelane.validation.spark; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.slow
def test_cli_validates_with_the_spark_engine(spark, tmp_path, capsys):
    from sagelane.cli import main

    path = write_frame(churn_frame(500, seed=2, defects=True, as_of=datetime.now(UTC)), tmp_path / "bad.csv")
    code = main(["validate", str(path), "--dataset", "churn", "--engine", "spark", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["engine"].startswith("spark 3.5")
    assert "column.plan.allowed_values" in report["summary"]["failed_rules"]
    assert main(["validate", str(path), "--dataset", "churn", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["failed_rules"] == report["summary"]["failed_rules"]
