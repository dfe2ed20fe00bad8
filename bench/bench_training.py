"""Local training wall time (the SageMaker entry point in a subprocess, as the embedded AWS runs it)
and ONNX parity, for the two sample datasets.

Usage: ./dev bench   or   .venv/bin/python bench/bench_training.py [--churn-rows N]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sagelane.config import load_project  # noqa: E402
from sagelane.samples import churn_frame, write_frame  # noqa: E402
from sagelane.training.local import run_training  # noqa: E402
from sagelane.training.prepare import split, write_channels  # noqa: E402
from sagelane.validation import validate_file  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--churn-rows", type=int, default=50_000)
    args = parser.parse_args()
    project = load_project("dev", ROOT)
    print(f"training benchmark — {platform.machine()}, CPython {platform.python_version()}")
    print(
        f"{'dataset':<10} {'algorithm':<20} {'rows':>8} {'wall s':>7} {'fit s':>7} {'metric':>16} {'onnx max |Δp|':>14}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        churn_file = write_frame(churn_frame(args.churn_rows, seed=11), tmp_path / "churn.parquet")
        cases = [
            ("penguins", ROOT / "samples" / "penguins.csv", {"algorithm": "logistic_regression"}),
            ("penguins", ROOT / "samples" / "penguins.csv", {"algorithm": "random_forest"}),
            ("churn", churn_file, {"algorithm": "xgboost", "n_estimators": 300}),
            ("churn", churn_file, {"algorithm": "logistic_regression"}),
        ]
        for i, (dataset, path, hp) in enumerate(cases):
            contract = project.contract(dataset)
            frame = validate_file(path, contract).frame
            prepared = write_channels(split(frame, contract), contract, tmp_path / f"c{i}")
            started = time.perf_counter()
            result = run_training(
                source_dir=ROOT / "training",
                channels={n: prepared.channel(n) for n in ("train", "validation", "test", "contract")},
                hyperparameters=hp,
                work_dir=tmp_path / f"job{i}",
            )
            wall = time.perf_counter() - started
            m = result.metrics
            primary = m["primary_metric"]
            onnx = m["onnx"]
            parity = f"{onnx['max_abs_difference']:.1e}" if onnx.get("exported") else "not exported"
            fit = m["rows"]["train"]
            score = f"{primary}={m['metrics'][primary]:.3f}"
            algorithm = hp["algorithm"]
            print(f"{dataset:<10} {algorithm:<20} {fit:>8,} {wall:>7.2f} {fit_seconds(result):>7.2f} ", end="")
            print(f"{score:>16} {parity:>14}")
    return 0


def fit_seconds(result) -> float:
    import json

    return json.loads((result.model_dir / "metadata.json").read_text())["training"]["fit_seconds"]


if __name__ == "__main__":
    sys.exit(main())
