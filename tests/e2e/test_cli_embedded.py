"""The operator's commands against the embedded AWS served on loopback: the code paths a user drives."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sagelane.cli import main
from sagelane.local.server import EmbeddedAWS
from tests.corpus import BAD_FILES


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_push_wait_reports_curated_and_exits_0(served, capsys, penguins_csv):
    code, out, _ = cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    assert code == 0, out
    assert "uploaded s3://sagelane-dev-raw-123456789012-us-east-1/incoming/penguins/penguins.csv" in out
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("  ") and "/" not in line] == [
        "Claim",
        "engine?",
        "Validate",
        "Passed?",
        "Curate",
        "RecordCurated",
        "AnnounceCurated",
        "Curated",
    ]
    assert "CURATED: PASSED: 344 rows" in out
    assert "data:   s3://sagelane-dev-curated-" in out and "report: s3://" in out
    # the function's own output went to its log, not to the operator's terminal
    assert "FilesPassed" not in out
    assert any("FilesPassed" in p.read_text() for p in Path(served.log_dir).glob("*Validate*.log"))


def test_push_wait_of_a_bad_file_exits_1_with_the_report(served, capsys, tmp_path):
    case = next(c for c in BAD_FILES if c.name == "wrong types")
    path = tmp_path / case.filename
    case.make(path)
    code, out, _ = cli(capsys, "data", "push", str(path), "--dataset", "penguins", "--wait")
    assert code == 1
    assert "QUARANTINED: FAILED: 1 of 28 rules failed on 344 rows" in out
    assert re.search(r"report: s3://sagelane-dev-quarantine-\S+/report.html", out)


def test_push_to_an_unknown_dataset_fails_before_uploading(served, capsys, penguins_csv):
    code, _, err = cli(capsys, "data", "push", str(penguins_csv), "--dataset", "iris")
    assert code == 2 and "unknown dataset 'iris'" in err
    code, out, _ = cli(capsys, "runs", "list", "--json")
    assert json.loads(out) == []


def test_runs_list_and_show(served, capsys, penguins_csv, tmp_path):
    cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    bad = tmp_path / "cut.csv.gz"
    next(c for c in BAD_FILES if c.name == "truncated gzip").make(bad)
    cli(capsys, "data", "push", str(bad), "--dataset", "penguins", "--wait")

    code, out, _ = cli(capsys, "runs", "list", "--workflow", "ingest", "--json")
    runs = json.loads(out)
    assert code == 0
    assert [(r["workflow"], r["status"], r["subject"]) for r in runs] == [
        ("ingest", "FAILED", "penguins: cut.csv.gz"),
        ("ingest", "SUCCEEDED", "penguins: penguins.csv"),
    ]
    code, out, _ = cli(capsys, "runs", "list", "--workflow", "ingest")
    assert code == 0 and "[DataValidationFailed]" in out

    code, out, _ = cli(capsys, "runs", "show", runs[0]["id"][:8])
    assert code == 1  # a failed run
    assert "ingest — FAILED" in out
    assert re.search(r"failed\s+DataValidationFailed", out)
    assert "truncated gzip file" in out

    code, out, _ = cli(capsys, "runs", "list", "--workflow", "deploy", "--json")
    assert code == 0 and json.loads(out) == []  # deployed, nothing approved yet
    code, _, err = cli(capsys, "runs", "list", "--workflow", "deploy", "--env", "prod")
    assert code == 2 and "workflow 'deploy' is not deployed in environment 'prod'" in err


def test_unreachable_endpoint_and_busy_port_are_clear_errors(served, capsys, dev):
    from sagelane import aws

    port = int(served.endpoint.rsplit(":", 1)[1])
    with pytest.raises(Exception, match=f"port {port} is in use"):
        EmbeddedAWS(dev.outdir, stacks=[], port=port).start()
    os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    aws.reset()
    try:
        code, _, err = cli(capsys, "runs", "list")
    finally:
        os.environ["AWS_ENDPOINT_URL"] = served.endpoint
        aws.reset()
    assert code == 2
    assert "cannot reach AWS" in err and "Is the embedded AWS running at http://127.0.0.1:9?" in err
    assert "Traceback" not in err


def test_commands_without_a_deployment_say_so(capsys, monkeypatch, root):
    # an endpoint where nothing answers the SageLane parameters: a clear error, no traceback
    monkeypatch.chdir(root)
    from moto import mock_aws

    with mock_aws():
        code, _, err = cli(capsys, "runs", "list")
    assert code == 2
    assert "not found: is the environment deployed" in err or "no SageLane workflow found" in err


@pytest.mark.slow
def test_local_up_serves_until_local_down(root, tmp_path):
    """`sagelane local up` in the background, used through boto3, stopped by `sagelane local down`."""
    script = root / ".venv" / "bin" / "sagelane"
    state = tmp_path / "state"
    process = subprocess.Popen(
        [str(script), "local", "up", "--port", "0", "--state-dir", str(state)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        endpoint = _wait_for_ready(process, timeout=120)
        import boto3

        env = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "x",
            "aws_secret_access_key": "x",
        }
        buckets = {b["Name"] for b in boto3.client("s3", **env).list_buckets()["Buckets"]}
        assert "sagelane-dev-raw-123456789012-us-east-1" in buckets
        machines = boto3.client("stepfunctions", **env).list_state_machines()["stateMachines"]
        names = sorted(m["name"] for m in machines)
        assert names == [
            "SageLane-dev-Ingest-BackfillWorkflow8C37EAB3",
            "SageLane-dev-Ingest-IngestWorkflow58F2BCD4",
            "sagelane-dev-deploy",
            "sagelane-dev-train",
        ]
        down = subprocess.run(
            [str(script), "local", "down", "--state-dir", str(state)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert down.returncode == 0 and "stopped the embedded AWS" in down.stdout
        assert process.wait(timeout=30) == 0
        assert not (state / "local.json").exists()
    finally:
        if process.poll() is None:
            process.kill()


def _wait_for_ready(process: subprocess.Popen, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        match = re.search(r"ready at (http://127\.0\.0\.1:\d+)", line)
        if match:
            return match.group(1)
    raise AssertionError("local up did not get ready:\n" + "".join(seen))


def test_policy_acts_as_a_holder_of_the_kits_managed_policy(served, capsys):
    """``--policy`` assumes the embedded AWS's role holding just that policy: what it grants works, the rest is
    AccessDenied naming that role, the action and the resource — as an approver or an application would see it."""
    holder = "arn:aws:iam::123456789012:role/sagelane-local/sagelane-dev-model-approver"
    code, _, err = cli(capsys, "--policy", "sagelane-dev-model-approver", "models", "list", "penguins-species")
    assert code == 0, err
    assert f"acting as {holder}" in err
    code, _, err = cli(capsys, "--policy", "sagelane-dev-model-approver", "runs", "list")
    assert code == 2
    # the first call it may not make: reading where the workflows are (an SSM parameter of the kit)
    assert "AccessDenied" in err and holder in err and "ssm:GetParameter" in err
    assert "parameter/sagelane/dev/ingest/state-machine-arn" in err


def test_role_needs_a_trust_policy_that_admits_the_caller(served, capsys):
    lambda_role = next(
        arn for arn, p in served.cloud.authority.principals.items() if ":role/" in arn and "Validate" in arn
    )
    code, _, err = cli(capsys, "--role", lambda_role, "runs", "list")
    assert code == 2
    assert f"cannot act as {lambda_role}" in err and "trust policy does not allow" in err
    code, _, err = cli(capsys, "--policy", "sagelane-dev-nonesuch", "runs", "list")
    assert (
        code == 2
        and "cannot act as" in err
        and "no managed policy of the assembly is named sagelane-dev-nonesuch" in err
    )
    assert "sagelane-dev-invoke" in err and "sagelane-dev-model-approver" in err  # what there is
    code, _, err = cli(capsys, "--role", "arn:aws:iam::123456789012:role/missing", "runs", "list")
    assert code == 2 and "no role of the assembly has that ARN" in err
