"""Cost of reading the environment once the embedded AWS's per-thread layer (``sagelane.environ``) is in place.

Every thread reads ``os.environ`` through the layered mapping after the first in-process Lambda call; botocore
walks it (``urllib.request.getproxies()``) each time it builds a client. Baseline: the plain ``os.environ``,
measured in the same run.

Usage: ./dev bench   or   .venv/bin/python bench/bench_environ.py
"""

from __future__ import annotations

import os
import timeit
import urllib.request

from sagelane.environ import install, thread_environment


def per_call(statement, number: int) -> float:
    return min(timeit.repeat(statement, number=number, repeat=5)) / number


def measure() -> tuple[float, float]:
    """(seconds per os.environ.get, seconds per urllib.request.getproxies())"""
    return per_call(lambda: os.environ.get("HOME"), 200_000), per_call(urllib.request.getproxies, 2_000)


def main() -> None:
    plain = measure()
    install()
    layered = measure()
    with thread_environment({f"SAGELANE_BENCH_{i}": "1" for i in range(12)}):
        inside = measure()
    print(f"{len(os.environ)} variables in the environment")
    for label, index, unit, scale in (("os.environ.get", 0, "ns", 1e9), ("getproxies()", 1, "us", 1e6)):
        print(
            f"{label:15} plain {plain[index] * scale:7.1f} {unit}   layered {layered[index] * scale:7.1f} {unit} "
            f"(x{layered[index] / plain[index]:.2f})   inside a layer {inside[index] * scale:7.1f} {unit} "
            f"(x{inside[index] / plain[index]:.2f})"
        )


if __name__ == "__main__":
    main()
