"""Validation throughput: the SageLane engine vs a pandas implementation of the same rules vs a bare read.

Prints rows/s and ratios measured in one run (this machine is noisy: compare ratios, not absolutes):
  * bare pyarrow read (the floor any engine pays to parse the file),
  * SageLane's engine in-process (polars; uniqueness and duplicate rows included),
  * the same rules written with pandas (the usual baseline),
  * end to end through the CLI (`sagelane validate`, process start included) on a bigger file.

Usage: ./dev bench   or   .venv/bin/python bench/bench_validation.py [--rows N] [--cli-rows N] [--repeat K]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
sys.path.insert(0, str(ROOT))

from sagelane.contract import load_contract  # noqa: E402
from sagelane.validation import validate_file  # noqa: E402

CONTRACT = load_contract(HERE / "bench_contract.yaml")


def make_frame(rows: int, seed: int = 42) -> pl.DataFrame:
    rng = np.random.default_rng(seed)

    def with_nulls(values: np.ndarray, share: float) -> list:
        mask = rng.random(rows) < share
        out = values.astype(object)
        out[mask] = None
        return out.tolist()

    return pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64) * 7 + 1_000_000,
            "amount": with_nulls(np.round(rng.gamma(2.0, 150.0, rows), 2), 0.02),
            "score": np.round(rng.normal(0, 2, rows).clip(-10, 10), 4),
            "ratio": with_nulls(np.round(rng.random(rows), 4), 0.05),
            "temperature": np.round(rng.normal(15, 10, rows).clip(-60, 60), 1),
            "age": rng.integers(18, 90, rows),
            "visits": rng.poisson(20, rows),
            "country": rng.choice(["US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "JP"], rows),
            "plan": rng.choice(["basic", "standard", "premium"], rows),
            "channel": with_nulls(rng.choice(["web", "app", "store", "phone", "partner"], rows), 0.03),
        },
        schema_overrides={"amount": pl.Float64, "ratio": pl.Float64, "channel": pl.String},
    )


def ensure_files(rows: int) -> dict[str, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    files = {"csv": DATA / f"bench-{rows}.csv", "parquet": DATA / f"bench-{rows}.parquet"}
    if not all(p.exists() for p in files.values()):
        frame = make_frame(rows)
        frame.write_csv(files["csv"])
        frame.write_parquet(files["parquet"])
    return files


# --- the pandas baseline: the same rules, written the way a pandas user would ----------------------


def pandas_validate(path: Path) -> dict[str, int]:
    dtypes = {
        "id": "int64",
        "age": "int64",
        "visits": "Int64",
        "amount": "float64",
        "score": "float64",
        "ratio": "float64",
        "temperature": "float64",
        "country": "string",
        "plan": "string",
        "channel": "string",
    }
    if path.suffix == ".csv":
        df = pd.read_csv(path, dtype=dtypes, na_values=["", "NA", "N/A", "null", "NULL"], keep_default_na=False)
    else:
        df = pd.read_parquet(path)
    counts: dict[str, int] = {}
    rows = len(df)
    for c in CONTRACT.columns:
        s = df[c.name]
        nulls = int(s.isna().sum())
        counts[f"{c.name}.nulls"] = nulls
        if c.min is not None:
            counts[f"{c.name}.below"] = int((s < c.min).sum())
        if c.max is not None:
            counts[f"{c.name}.above"] = int((s > c.max).sum())
        if c.allowed_values is not None:
            counts[f"{c.name}.not_allowed"] = int((s.notna() & ~s.isin(c.allowed_values)).sum())
        if c.unique:
            counts[f"{c.name}.duplicates"] = int(s.dropna().duplicated().sum())
        if c.type.is_numeric:
            counts[f"{c.name}.mean"] = 0 if s.dropna().empty else 1
    counts["duplicate_rows"] = int(df.duplicated().sum())
    counts["rows"] = rows
    return counts


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def cli_seconds(path: Path, repeat: int) -> float:
    command = [
        str(ROOT / ".venv" / "bin" / "sagelane"),
        "validate",
        str(path),
        "--dataset",
        "bench",
        "--contract",
        str(HERE / "bench_contract.yaml"),
    ]

    def run() -> None:
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        if result.returncode != 0:
            raise SystemExit(f"CLI failed ({result.returncode}): {result.stderr}")

    return best(run, repeat)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cli-rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    files = ensure_files(args.rows)
    print(f"validation benchmark — {args.rows:,} rows x 10 columns, best of {args.repeat}")
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"polars {pl.__version__}, pandas {pd.__version__}, cores: {len(__import__('os').sched_getaffinity(0))}"
    )
    # sanity: the engine passes the clean file, and pandas counts the same nulls
    report = validate_file(files["parquet"], CONTRACT).report
    assert report.status == "passed", report.summary
    assert pandas_validate(files["parquet"])["amount.nulls"] == report.profile["amount"]["nulls"]

    print(f"\n{'format':<8} {'what':<34} {'seconds':>8} {'rows/s':>12} {'vs pandas':>10}")
    results = {}
    for fmt, path in files.items():
        read = (lambda p=path: pacsv.read_csv(p)) if fmt == "csv" else (lambda p=path: pq.read_table(p))
        timings = {
            "pyarrow read only (floor)": best(read, args.repeat),
            "sagelane engine (polars)": best(lambda p=path: validate_file(p, CONTRACT), args.repeat),
            "pandas, same rules (baseline)": best(lambda p=path: pandas_validate(p), args.repeat),
        }
        baseline = timings["pandas, same rules (baseline)"]
        for what, seconds in timings.items():
            print(f"{fmt:<8} {what:<34} {seconds:>8.3f} {args.rows / seconds:>12,.0f} {baseline / seconds:>9.1f}x")
        results[fmt] = timings

    cli_files = ensure_files(args.cli_rows)
    print(f"\nend to end through the CLI (process start included), {args.cli_rows:,} rows")
    for fmt, path in cli_files.items():
        seconds = cli_seconds(path, args.repeat)
        print(f"{fmt:<8} {'sagelane validate':<34} {seconds:>8.3f} {args.cli_rows / seconds:>12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
