"""The embedded AWS, served on loopback for one test, and the helpers the end-to-end tests share."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from sagelane.cli import main
from sagelane.local.runtime import stacks_in_order
from sagelane.local.server import EmbeddedAWS
from sagelane.runs import deployed_workflows


@pytest.fixture
def served(dev, root, monkeypatch, tmp_path, capsys):
    # capsys first: the embedded AWS routes function output from whatever sys.stdout is when it starts
    monkeypatch.chdir(root)
    with EmbeddedAWS(dev.outdir, stacks=stacks_in_order(dev.outdir), log_dir=tmp_path / "logs") as cloud:
        yield cloud


@pytest.fixture
def subscribe(served):
    """``subscribe("Training")``: a reader of every message published so far to the topic whose ARN holds that."""

    def make(fragment: str):
        sqs, sns = boto3.client("sqs"), boto3.client("sns")
        url = sqs.create_queue(QueueName=f"inbox-{fragment.lower()}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if fragment in t["TopicArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        seen: list[dict] = []

        def read() -> list[dict]:
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                for message in messages:
                    seen.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return seen

        return read

    return make


def cli(capsys, *args: str) -> tuple[int, str]:
    """Run the CLI in-process: (exit code, stdout + stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def settle(timeout: float = 120, quiet: float = 1.0) -> None:
    """Wait until no run of any workflow has been running for ``quiet`` seconds (events in flight included:
    the embedded AWS delivers them within its pump interval; under load, give it longer)."""
    deadline = time.monotonic() + timeout
    sfn = boto3.client("stepfunctions")
    quiet_since = None
    while time.monotonic() < deadline:
        busy = any(
            sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1)["executions"]
            for arn in deployed_workflows("dev").values()
        )
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > quiet:
            return
        time.sleep(0.2)
    raise TimeoutError("runs still running")
