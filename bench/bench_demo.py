"""Wall time of the whole lifecycle loop: ``sagelane demo`` (synth, embedded AWS, ingest, training, approval,
deploy, predictions, drift, alarm, retraining), in a fresh process, after install — with the embedded AWS's
request validation and IAM on (as shipped) and off (``--no-enforce``), runs interleaved, same machine.
``--against DIR``: also a checkout of another commit (e.g. ``git worktree add /tmp/before <ref>``), run
with this environment: the same-run baseline for "no slower than before".

Usage: ./dev bench   or   .venv/bin/python bench/bench_demo.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--against", type=Path, help="a checkout of another commit to time in the same run")
    args = parser.parse_args()
    python = str(ROOT / ".venv" / "bin" / "python")
    modes: list[tuple[str, Path, list[str]]] = [("on", ROOT, []), ("off", ROOT, ["--no-enforce"])]
    if args.against:
        modes.insert(0, ("before", args.against.resolve(), []))
    times: dict[str, list[float]] = {mode: [] for mode, _, _ in modes}
    for _ in range(args.runs):
        for mode, root, extra in modes:
            started = time.perf_counter()
            done = subprocess.run(
                [python, "-m", "sagelane.cli", "demo", *extra],
                cwd=root,
                env={**os.environ, "PYTHONPATH": str(root)},
                capture_output=True,
                text=True,
                check=False,
            )
            times[mode].append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(
                    f"the demo ({mode}) failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
                )
    on, off = min(times["on"]), min(times["off"])
    print(f"sagelane demo, whole loop, process start to exit, best of {args.runs} (target <= 60 s):")
    if args.against:
        before = min(times["before"])
        print(f"  before ({args.against}): {before:.1f} s   on / before: {on / before:.2f}x")
    print(f"  enforcement on (as shipped): {on:.1f} s")
    print(f"  enforcement off (--no-enforce): {off:.1f} s")
    print(f"  on / off: {on / off:.2f}x")


if __name__ == "__main__":
    main()
