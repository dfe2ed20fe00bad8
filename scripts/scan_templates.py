"""Scan synthesized CloudFormation templates with cfn-lint and checkov; exit non-zero on any finding.

    python scripts/scan_templates.py [CDK_OUT]        (default: cdk.out; ./dev scan synthesizes first)

cfn-lint reads its settings (the one check ignored, and why) from .cfnlintrc.yaml. checkov runs from its own
locked environment (.tools/checkov, see tools/checkov/pyproject.toml), offline: no policy download, no update
check. Its skips live on the resources themselves (``stacks.constructs.nag.skip_checkov``), each with a reason.
The test suite calls the same functions (tests/infra/test_scanners.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
# Any attempt to reach the network goes to a closed port and fails at once.
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


@dataclass
class CheckovReport:
    failed: list[str] = field(default_factory=list)  # "CKV_AWS_1 Stack.template.json AWS::S3::Bucket.Name: title"
    skipped: list[dict[str, str]] = field(default_factory=list)  # check id, resource, the skip's comment
    passed: int = 0


def templates(outdir: Path) -> list[Path]:
    found = sorted(outdir.glob("*.template.json"))
    if not found:
        raise SystemExit(f"no *.template.json in {outdir}: synthesize first (./dev synth)")
    return found


def cfn_lint(outdir: Path) -> list[str]:
    """cfn-lint's findings on every template in ``outdir``, one line each (empty when clean)."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *map(str, templates(outdir))],
        cwd=ROOT,  # .cfnlintrc.yaml
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **OFFLINE},
    )
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14):  # a bitmask of finding levels; odd: crashed
        raise RuntimeError(f"cfn-lint did not run (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    return [line for line in result.stdout.splitlines() if line.strip()]


def checkov(outdir: Path) -> CheckovReport:
    """checkov's CloudFormation checks on ``outdir``'s templates, offline."""
    if not CHECKOV.exists():
        raise RuntimeError(f"{CHECKOV} is missing: run ./dev setup")
    env = {**os.environ, **OFFLINE, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    command = [str(CHECKOV), "--directory", str(outdir), "--framework", "cloudformation", "--skip-download"]
    result = subprocess.run(
        [*command, "--compact", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    try:
        runs = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"checkov did not run (exit {result.returncode}): {result.stderr.strip()[-2000:]}") from None
    report = CheckovReport()
    for run in runs if isinstance(runs, list) else [runs]:
        results = run["results"]
        report.passed += run["summary"]["passed"]
        for check in results.get("failed_checks", []):
            where = f"{check['file_path'].lstrip('/')} {check['resource']}"
            report.failed.append(f"{check['check_id']} {where}: {check['check_name']}")
        for check in results.get("skipped_checks", []):
            comment = check.get("check_result", {}).get("suppress_comment", "")
            report.skipped.append({"check": check["check_id"], "resource": check["resource"], "reason": comment})
    return report


def main() -> int:
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "cdk.out"
    lint = cfn_lint(outdir)
    print(f"cfn-lint: {len(lint)} finding(s) in {len(templates(outdir))} templates")
    for line in lint:
        print(f"  {line}")
    report = checkov(outdir)
    print(f"checkov: {report.passed} passed, {len(report.failed)} failed, {len(report.skipped)} skipped with a reason")
    for line in report.failed:
        print(f"  {line}")
    return 1 if lint or report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
