"""Inference latency: the served handler (orjson + ONNX Runtime, no DataFrame) vs the scikit-learn
pipeline on a one-row DataFrame (the usual baseline), measured in the same run.

Prints p50 / p99 for one penguins row through the whole handler (input_fn → predict_fn → output_fn)
and rows/s for 1000-row batches.

Usage: ./dev bench   or   .venv/bin/python bench/bench_inference.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

import inference  # noqa: E402
import pandas as pd  # noqa: E402

from sagelane.config import load_project  # noqa: E402
from sagelane.samples import PENGUIN_EXAMPLES  # noqa: E402
from sagelane.training.local import run_training  # noqa: E402
from sagelane.training.prepare import split, write_channels  # noqa: E402
from sagelane.validation import validate_file  # noqa: E402

RECORD = PENGUIN_EXAMPLES[0]


def percentiles(fn, calls: int) -> tuple[float, float]:
    for _ in range(min(500, calls)):
        fn()
    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    project = load_project("dev", ROOT)
    contract = project.contract("penguins")
    with tempfile.TemporaryDirectory() as tmp:
        frame = validate_file(ROOT / "samples" / "penguins.csv", contract).frame
        prepared = write_channels(split(frame, contract), contract, Path(tmp) / "c")
        result = run_training(
            source_dir=ROOT / "training",
            channels={n: prepared.channel(n) for n in ("train", "validation", "test", "contract")},
            hyperparameters={"algorithm": "logistic_regression"},
            work_dir=Path(tmp) / "job",
        )
        model = inference.model_fn(str(result.model_dir))
        pipeline = model.pipeline
        body = json.dumps(RECORD).encode()

        def served() -> None:
            inference.output_fn(
                inference.predict_fn(inference.input_fn(body, "application/json"), model), "application/json"
            )

        def baseline() -> None:
            frame_ = pd.DataFrame([json.loads(body)])
            pipeline.predict_proba(frame_)

        print(f"inference benchmark — penguins logistic regression, one row, {args.calls} calls (best path first)")
        fast = percentiles(served, args.calls)
        slow = percentiles(baseline, max(500, args.calls // 5))
        print(f"{'path':<48} {'p50 µs':>8} {'p99 µs':>8}")
        print(f"{'handler: orjson + checks + ONNX Runtime':<48} {fast[0]:>8.1f} {fast[1]:>8.1f}")
        print(f"{'baseline: json + DataFrame + scikit-learn':<48} {slow[0]:>8.1f} {slow[1]:>8.1f}")
        print(f"speed-up at p50: {slow[0] / fast[0]:.1f}x")

        batch = json.dumps([RECORD] * 1000).encode()
        rows = json.loads(batch)
        for label, fn in (
            (
                "handler, 1000-row batches",
                lambda: inference.predict_fn(inference.input_fn(batch, "application/json"), model),
            ),
            ("baseline, 1000-row batches", lambda: pipeline.predict_proba(pd.DataFrame(rows))),
        ):
            started = time.perf_counter()
            for _ in range(20):
                fn()
            seconds = (time.perf_counter() - started) / 20
            print(f"{label:<48} {1000 / seconds:>12,.0f} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
