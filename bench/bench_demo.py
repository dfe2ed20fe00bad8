"""Wall time of the whole lifecycle loop: ``sagelane demo`` (synth, embedded AWS, ingest, training, approval,
deploy, predictions, drift, alarm, retraining), in a fresh process, after install — with the embedded AWS's
request validation and IAM on (as shipped) and off (``--no-enforce``), runs interleaved, same machine.

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
    times: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(args.runs):
        for mode, extra in (("on", []), ("off", ["--no-enforce"])):
            started = time.perf_counter()
            done = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "sagelane"), "demo", *extra],
                cwd=ROOT,
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
    print(f"  enforcement on (as shipped): {on:.1f} s")
    print(f"  enforcement off (--no-enforce): {off:.1f} s")
    print(f"  on / off: {on / off:.2f}x")


if __name__ == "__main__":
    main()
