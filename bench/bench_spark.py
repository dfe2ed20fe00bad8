"""The Spark engine (what the Glue job runs) on one machine vs the default polars engine, same file.

Figures, not a race: Spark's worth is that it spreads over Glue workers; on one machine it mostly shows
its fixed costs. Both engines validate the same CSV against the same contract and must agree on the
verdict; the run prints seconds, rows/s and MB/s for each, their ratio, and the cost model used to pick
``ingest.lambda_max_object_mb`` (docs/engines.md).

Usage: ./dev bench   or   .venv/bin/python bench/bench_spark.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_validation import CONTRACT, ensure_files  # noqa: E402

from sagelane.validation import validate_file  # noqa: E402
from sagelane.validation.spark import glue_limits, local_session, validate_path  # noqa: E402

# Public on-demand prices (us-east-1, 2026): Glue $0.44 per DPU-hour, billed per second with a 1-minute
# minimum (G.1X = 1 DPU = 4 vCPU, 16 GB); Lambda $0.0000166667 per GB-second (x86; arm64 is 20 % less).
GLUE_DPU_HOUR = 0.44
LAMBDA_GB_SECOND = 0.0000166667


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    path = ensure_files(args.rows)["csv"]
    mb = path.stat().st_size / 1e6
    cores = os.cpu_count() or 1
    print(f"machine: {platform.processor() or platform.machine()}, {cores} cores, Python {platform.python_version()}")
    print(f"file: {args.rows:,} rows, {mb:,.0f} MB CSV, contract bench_contract.yaml")

    started = time.perf_counter()
    fast = validate_file(path, CONTRACT).report
    polars_s = time.perf_counter() - started

    started = time.perf_counter()
    spark = local_session()
    session_s = time.perf_counter() - started
    limits = glue_limits(__import__("sagelane.config", fromlist=["GlueConfig"]).GlueConfig())
    started = time.perf_counter()
    wide = validate_path(path, CONTRACT, spark=spark, limits=limits).report
    spark_s = time.perf_counter() - started
    spark.stop()

    assert (fast.status, [r.rule for r in fast.failed_rules]) == (wide.status, [r.rule for r in wide.failed_rules])
    print(f"{'engine':<28}{'seconds':>9}{'rows/s':>14}{'MB/s':>8}")
    print(f"{'polars (Lambda engine)':<28}{polars_s:>9.1f}{args.rows / polars_s:>14,.0f}{mb / polars_s:>8.1f}")
    print(f"{'spark local[' + str(cores) + ']':<28}{spark_s:>9.1f}{args.rows / spark_s:>14,.0f}{mb / spark_s:>8.1f}")
    print(f"spark session start: {session_s:.1f} s (not counted above)")
    print(f"spark/polars time ratio: {spark_s / polars_s:.1f}x")
    print(f"verdicts agree: {fast.status}, {len(fast.rules)} rules")

    # The cost model, from this run's Spark throughput per core (Glue workers have 4 vCPU each).
    per_core = mb / spark_s / cores
    polars_mb_s = mb / polars_s
    print("\ncost model (per file; Glue: 10 G.1X workers + ~60 s start; Lambda: 4 GB memory):")
    print(f"{'size':>8}{'Lambda s':>10}{'Lambda $':>10}{'Glue s':>9}{'Glue $':>9}")
    for gb in (0.1, 1, 10, 100):
        lambda_s = gb * 1000 / polars_mb_s
        lambda_cost = lambda_s * 4 * LAMBDA_GB_SECOND if lambda_s <= 900 else float("nan")
        glue_s = 60 + gb * 1000 / (per_core * 4 * 10)
        glue_cost = max(glue_s, 60) / 3600 * 10 * GLUE_DPU_HOUR
        print(f"{gb:>7g}G{lambda_s:>10.0f}{lambda_cost:>10.4f}{glue_s:>9.0f}{glue_cost:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
