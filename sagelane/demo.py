"""``sagelane demo``: what a new user runs first.

Today it validates the sample data against the contracts (a good penguins file, a good and a defective
churn file, a truncated upload), writes the reports, then synthesizes the CDK app with cdk-nag. It grows
with the embedded AWS into the whole lifecycle.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sagelane.config import find_root, load_project
from sagelane.errors import SageLaneError


def run_demo(*, workdir: Path, synth: bool = True) -> int:
    from sagelane.samples import churn_frame, write_frame
    from sagelane.validation import validate_file

    started = time.perf_counter()
    root = find_root()
    project = load_project("dev", root)
    workdir = workdir if workdir.is_absolute() else root / workdir
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)

    print("1. Sample files")
    good_churn = write_frame(churn_frame(20_000), data / "churn-2026-good.csv")
    bad_churn = write_frame(churn_frame(20_000, seed=8, defects=True), data / "churn-defects.parquet")
    truncated = data / "penguins-truncated.csv.gz"
    truncated.write_bytes(gzip.compress((root / "samples" / "penguins.csv").read_bytes())[:900])
    cases = [
        ("penguins", root / "samples" / "penguins.csv", "passed"),
        ("churn", good_churn, "passed"),
        ("churn", bad_churn, "failed"),
        ("penguins", truncated, "unreadable"),
    ]
    for _, path, _ in cases:
        print(f"   {path.relative_to(root)}")

    print("2. Validation against the data contracts")
    surprises = 0
    for dataset, path, expected in cases:
        report = validate_file(path, project.contract(dataset), source=path.name).report
        folder = workdir / "reports" / path.name.split(".")[0]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(report.to_json(), encoding="utf-8")
        (folder / "report.html").write_text(report.to_html(), encoding="utf-8")
        mark = "ok " if report.status == expected else "!! "
        surprises += report.status != expected
        print(f"   {mark}{dataset:<9} {path.name:<28} {report.summary}")
        for rule in report.failed_rules[:6]:
            print(f"          - {rule.rule}: {rule.message}")
        print(f"          report: {(folder / 'report.html').relative_to(root)}")

    if synth:
        print("3. Synthesizing the CDK app (dev and prod) with cdk-nag")
        for env in ("dev", "prod"):
            _synth(root, env, workdir / f"cdk.out.{env}")
    print(f"Demo finished in {time.perf_counter() - started:.1f} s.")
    if surprises:
        print(f"{surprises} validation(s) did not give the expected verdict", file=sys.stderr)
        return 1
    return 0


def _synth(root: Path, env: str, out: Path) -> None:
    cdk = root / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        raise SageLaneError(f"{cdk} not found: run ./dev setup (it installs the pinned CDK CLI)")
    started = time.perf_counter()
    environ = {**os.environ}
    command = [str(cdk), "synth", "--quiet", "-c", f"env={env}", "--output", str(out)]
    result = subprocess.run(command, cwd=root, env=environ, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SageLaneError(f"cdk synth for {env} failed (exit {result.returncode})")
    stacks = sorted(p.name.removesuffix(".template.json") for p in out.glob("*.template.json"))
    print(
        f"   {env}: {len(stacks)} stacks ({', '.join(stacks)}) in {time.perf_counter() - started:.1f} s, "
        f"cdk-nag clean -> {out.relative_to(root)}"
    )
    shutil.rmtree(out / "asset.tmp", ignore_errors=True)
