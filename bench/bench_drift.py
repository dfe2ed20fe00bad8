"""Drift computation: PSI + KS per feature from the baseline bins (sagelane.monitoring.drift) vs the
usual approach with the training sample at hand (scipy.stats.ks_2samp + numpy.histogram PSI), in the
same run.

10 numeric features x 10,000 live rows against a 50,000-row training sample (the baseline is built
from it once, as training does). Prints best-of-N milliseconds of each and their ratio.

Usage: ./dev bench   or   .venv/bin/python bench/bench_drift.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

from baseline import numeric_profile  # noqa: E402

from sagelane.monitoring.drift import numeric_drift  # noqa: E402

FEATURES, LIVE_ROWS, TRAIN_ROWS = 10, 10_000, 50_000


def best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    train = [rng.normal(i, 1 + i / 10, TRAIN_ROWS) for i in range(FEATURES)]
    live = [rng.normal(i + 0.3, 1 + i / 10, LIVE_ROWS) for i in range(FEATURES)]
    profiles = [{**numeric_profile(t), "missing_share": 0.0} for t in train]

    def sagelane() -> list[tuple[float, float]]:
        return [(d.psi, d.ks) for d in (numeric_drift(f"f{i}", profiles[i], live[i]) for i in range(FEATURES))]

    def scipy_baseline() -> list[tuple[float, float]]:
        out = []
        for i in range(FEATURES):
            edges = np.quantile(train[i], np.linspace(0, 1, 11))
            e = np.maximum(np.histogram(train[i], edges)[0] / TRAIN_ROWS, 1e-4)
            o = np.maximum(np.histogram(np.clip(live[i], edges[0], edges[-1]), edges)[0] / LIVE_ROWS, 1e-4)
            out.append((float(np.sum((o - e) * np.log(o / e))), stats.ks_2samp(train[i], live[i]).statistic))
        return out

    ours, theirs = best(sagelane, args.repeat), best(scipy_baseline, args.repeat)
    gap = max(abs(a[1] - b[1]) for a, b in zip(sagelane(), scipy_baseline(), strict=True))
    print(f"drift, {FEATURES} features x {LIVE_ROWS:,} live rows (best of {args.repeat}):")
    print(f"  sagelane (baseline bins, PSI + KS)          {ours * 1000:8.2f} ms")
    print(f"  scipy ks_2samp + histogram PSI (baseline)   {theirs * 1000:8.2f} ms")
    print(f"  speed-up {theirs / ours:.1f}x; largest KS difference from scipy's exact statistic {gap:.4f}")


if __name__ == "__main__":
    main()
