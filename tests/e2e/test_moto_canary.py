"""Canary: the moto internals and behaviours the embedded AWS relies on. If moto changes under us,
these fail first and say which piece moved (upgrade moto deliberately, never by accident)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import boto3
import botocore.handlers
import pytest
from moto import mock_aws

from sagelane.local.cloud import MOTO_CONFIG
from sagelane.local.lambdas import LocalFunction, LocalLambda

PINNED = "5.2.5"


def test_moto_is_the_pinned_version(root):
    import moto

    lock = tomllib.loads((root / "uv.lock").read_text())
    locked = next(p["version"] for p in lock["package"] if p["name"] == "moto")
    assert locked == moto.__version__ == PINNED, (
        f"moto {moto.__version__} (lock: {locked}); the embedded AWS was verified on {PINNED}: re-run this "
        "canary and the e2e suite, then update PINNED and docs/embedded-aws.md"
    )


def test_private_names_the_runtime_imports_still_exist():
    from moto.core.config import default_user_config
    from moto.events.models import EventPattern
    from moto.server import ThreadedMotoServer

    assert "execute_state_machine" in default_user_config["stepfunctions"], "moto.core.config: no SFN switch"
    assert callable(EventPattern.load) and hasattr(EventPattern, "matches_event"), "moto.events.models.EventPattern"
    assert hasattr(ThreadedMotoServer, "get_host_and_port"), "moto.server.ThreadedMotoServer"
    assert isinstance(botocore.handlers.BUILTIN_HANDLERS, list), "botocore.handlers.BUILTIN_HANDLERS"


def test_step_functions_lambda_tasks_reach_the_in_process_hook(tmp_path):
    """moto's ASL interpreter must call Lambda through a boto3 client (whose before-call hook we own)."""
    code = tmp_path / "fn"
    code.mkdir()
    (code / "handler.py").write_text(
        "def lambda_handler(event, context):\n"
        "    if event.get('fail'):\n"
        "        raise ValueError('asked to fail')\n"
        "    return {'doubled': event['n'] * 2}\n"
    )
    functions = LocalLambda()
    arn = "arn:aws:lambda:us-east-1:123456789012:function:canary"
    functions.register(
        LocalFunction(name="canary", arn=arn, code_dir=code, handler="handler.lambda_handler", environment={})
    )
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Catch": [{"ErrorEquals": ["ValueError"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Result": {"caught": "ValueError"}, "End": True},
        },
    }
    with mock_aws(config=MOTO_CONFIG):
        functions.install()
        try:
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            machine = sfn.create_state_machine(
                name="canary", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
            )["stateMachineArn"]
            outputs = []
            for name, payload in (("ok", {"n": 21}), ("ko", {"fail": True})):
                arn_ = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))[
                    "executionArn"
                ]
                for _ in range(200):
                    d = sfn.describe_execution(executionArn=arn_)
                    if d["status"] != "RUNNING":
                        break
                    __import__("time").sleep(0.05)
                outputs.append((d["status"], json.loads(d.get("output", "null"))))
        finally:
            functions.uninstall()
    assert outputs[0] == ("SUCCEEDED", {"doubled": 42}), (
        "moto's Step Functions interpreter no longer invokes Lambda through a boto3 client: "
        "see moto/stepfunctions/parser/asl/component/state/exec/state_task/lambda_eval_utils.py"
    )
    assert outputs[1] == ("SUCCEEDED", {"caught": "ValueError"}), "Lambda errors no longer surface as errorType"


def test_s3_puts_reach_eventbridge_rules():
    with mock_aws():
        s3, events, sqs = (boto3.client(s, region_name="us-east-1") for s in ("s3", "events", "sqs"))
        s3.create_bucket(Bucket="canary")
        s3.put_bucket_notification_configuration(
            Bucket="canary", NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        url = sqs.create_queue(QueueName="tap")["QueueUrl"]
        pattern = {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": ["canary"]}, "object": {"key": [{"prefix": "in/"}]}},
        }
        events.put_rule(Name="r", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:tap"}])
        s3.put_object(Bucket="canary", Key="in/a.csv", Body=b"x")
        s3.put_object(Bucket="canary", Key="out/b.csv", Body=b"x")
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1, "moto's S3 no longer emits EventBridge events (or prefix matching changed)"
    detail = json.loads(messages[0]["Body"])["detail"]
    assert detail["bucket"]["name"] == "canary" and detail["object"]["key"] == "in/a.csv"


@pytest.mark.parametrize("field", ["StartTime"])
def test_known_gap_execution_start_time_is_not_a_string(field):
    """Documented gap (docs/embedded-aws.md): moto passes $$.Execution.StartTime as a datetime, which
    cannot be put into a JSON payload. The ingest workflow uses $$.State.EnteredTime instead. When this
    test fails, moto fixed it: update the fidelity table."""
    from moto.stepfunctions.parser.backend import execution_worker

    source = Path(execution_worker.__file__).read_text()
    assert f"{field}=self._evaluation_details.execution_details.start_time" in source
