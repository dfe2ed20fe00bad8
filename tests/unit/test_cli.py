"""``sagelane validate`` and friends: exit codes, one-line errors, reports on disk."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sagelane.cli import main
from tests.corpus import BAD_FILES


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_passing_file_exits_0_and_writes_both_reports(capsys, penguins_csv, tmp_path, monkeypatch, root):
    monkeypatch.chdir(root)
    code, out, _ = run(capsys, "validate", str(penguins_csv), "--dataset", "penguins", "--report-dir", str(tmp_path))
    assert code == 0
    assert "PASSED: 344 rows" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "passed" and report["rows"] == 344
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")


def test_failing_file_exits_1_and_lists_rules_with_counts_and_examples(capsys, tmp_path, monkeypatch, root):
    monkeypatch.chdir(root)
    case = next(c for c in BAD_FILES if c.name == "out-of-range values")
    path = tmp_path / case.filename
    case.make(path)
    code, _, err = run(capsys, "validate", str(path), "--dataset", "penguins")
    assert code == 1
    assert "FAIL column.year.range: 3 value(s) outside [2007, 2030]" in err
    assert "line 2: 1999" in err


def test_unreadable_file_exits_2_with_one_line(capsys, tmp_path, monkeypatch, root):
    monkeypatch.chdir(root)
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code, _, err = run(capsys, "validate", str(path), "--dataset", "penguins")
    assert code == 2
    assert err.strip().count("\n") == 0 and "is empty (0 bytes)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "samples/penguins.csv", "--dataset", "iris"], "unknown dataset 'iris'"),
        (["validate", "nope.csv", "--dataset", "penguins"], "nope.csv: no such file"),
        (["validate", "samples", "--dataset", "penguins"], "is a folder, not a file"),
        (
            ["validate", "samples/penguins.csv", "--dataset", "penguins", "--env", "qa"],
            "no config for environment 'qa'",
        ),
        (
            ["validate", "samples/penguins.csv", "--dataset", "churn", "--contract", "contracts/penguins.yaml"],
            "is the contract of dataset 'penguins', not 'churn'",
        ),
        (["local", "up", "--assembly", "samples", "--port", "0"], "is not a cloud assembly (no manifest.json)"),
    ],
)
def test_wrong_calls_exit_2_with_a_clear_message(capsys, monkeypatch, root, args, message):
    monkeypatch.chdir(root)
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_json_output_is_the_report(capsys, penguins_csv, monkeypatch, root):
    monkeypatch.chdir(root)
    code, out, _ = run(capsys, "validate", str(penguins_csv), "--dataset", "penguins", "--json")
    assert code == 0
    assert json.loads(out)["summary"]["failed"] == 0


def test_contract_check_reports_each_file(capsys, root, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: x\ncolumns: []\n")
    code, out, err = run(capsys, "contract", str(root / "contracts" / "churn.yaml"), str(bad))
    assert code == 1
    assert "ok — dataset churn v1, 12 columns" in out
    assert "columns: List should have at least 1 item" in err


def test_sample_writes_the_requested_rows(capsys, tmp_path):
    code, out, _ = run(capsys, "sample", "churn", "--rows", "250", "--out", str(tmp_path / "c.parquet"))
    assert code == 0 and "wrote 250 rows" in out


def test_the_installed_console_script_never_prints_a_traceback(root, tmp_path):
    # given a hostile file, when the real console script runs, then stderr is one line and no traceback
    path = tmp_path / "oneline.csv"
    path.write_bytes(b"x" * (2 * 1024 * 1024))
    script = root / ".venv" / "bin" / "sagelane"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sagelane.cli"]
    result = subprocess.run(
        [*command, "validate", str(path), "--dataset", "penguins"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "longer than 1 MiB with no line break" in result.stderr
