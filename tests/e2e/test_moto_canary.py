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


def test_what_the_serving_emulation_patches_is_still_there():
    """sagelane/local/sagemaker_api.py and sfn_services.py patch these; a moto upgrade may move them."""
    from moto.events.models import events_backends
    from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_aws_sdk
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    assert callable(SageMakerModelBackend.create_model_package) and callable(SageMakerModelBackend.update_model_package)
    assert callable(FakeEndpoint._process_production_variants)
    # a moto that implements UpdateEndpoint itself: drop the emulation and use it
    assert not hasattr(SageMakerResponse, "update_endpoint"), "moto now implements UpdateEndpoint"
    assert isinstance(StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, dict)
    assert isinstance(state_task_service_aws_sdk._SERVICE_ERROR_NAMES, dict)
    assert events_backends is not None


def test_known_gap_model_approval_emits_no_event():
    """moto emits no "Model Package State Change": the embedded AWS adds it (and must stop if moto does)."""
    with mock_aws():
        events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="tap")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
        events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn}])
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model_package_group(ModelPackageGroupName="g")
        sagemaker.create_model_package(
            ModelPackageGroupName="g",
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [{"Image": "i", "ModelDataUrl": "s3://b/k"}],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == [], "moto now emits package state changes"


def test_known_gap_moto_compares_only_whole_second_z_timestamps_and_the_runtime_widens_it():
    """moto's Timestamp* comparisons read only ``%Y-%m-%dT%H:%M:%SZ``, but its own ``$$.State.EnteredTime`` is
    ``isoformat()`` (microseconds, +00:00): every comparison of two entered times was False, so the training
    workflow's "triggers after the data cutoff retrain" never fired locally. The runtime reads RFC 3339 as AWS
    does. When the first assertion fails, moto fixed it: drop the patch."""
    import datetime

    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
        is_operator,
    )

    from sagelane.local.sfn_services import rfc3339_timestamp

    entered = datetime.datetime.now(tz=datetime.UTC).isoformat()
    assert is_operator.IsTimestamp.TIMESTAMP_FORMAT == "%Y-%m-%dT%H:%M:%SZ"
    assert rfc3339_timestamp(entered) is not None
    assert rfc3339_timestamp("2026-11-23T12:00:00Z") < rfc3339_timestamp("2026-11-23T12:00:00.5Z")
    assert rfc3339_timestamp("2026-11-23") is None and rfc3339_timestamp("soon") is None


def test_an_embedded_aws_applies_every_patch_while_up_and_undoes_them_when_down(dev):
    """One mechanism: what ``LocalCloud.up`` changes in moto and botocore, ``down`` puts back."""
    from sagelane import aws
    from sagelane.local import patches
    from sagelane.local.cloud import LocalCloud
    from sagelane.local.iam import _COMPAT

    permanent = {entry.target for entry in _COMPAT}  # aliases for the policy evaluator, kept once made
    with mock_aws(config=MOTO_CONFIG):
        aws.reset()
        cloud = LocalCloud(dev.outdir, stacks=["SageLane-dev-DataLake"], region="us-east-1")
        cloud.up()
        try:
            unapplied = [p.target for p in patches.table() if not p.applied]
            assert unapplied == []
        finally:
            cloud.down()
            aws.reset()
    left = [p.target for p in patches.table() if p.applied and p.target not in permanent]
    assert left == []
