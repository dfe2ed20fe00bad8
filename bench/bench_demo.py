"""Wall time of the whole lifecycle loop: ``sagelane demo`` (synth, embedded AWS, ingest, training, approval,
deploy, predictions, drift, alarm, retraining), in a fresh process, after install.

Usage: ./dev bench   or   .venv/bin/python bench/bench_demo.py [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        done = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "sagelane"), "demo"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(f"the demo failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    print(f"sagelane demo, whole loop, process start to exit: best {min(times):.1f} s of {len(times)} (target <= 60 s)")


if __name__ == "__main__":
    main()
