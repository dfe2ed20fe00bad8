"""Lambda's limits in the embedded AWS: the Invoke payload quotas, the function's Timeout, the 256 KiB
Step Functions state limit — each failing as AWS reports it (Invoke API reference; Lambda quotas)."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagelane.local.cloud import MOTO_CONFIG
from sagelane.local.lambdas import LocalFunction, LocalLambda

REGION = "us-east-1"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:limits"
HANDLER = """
import os
import time

def lambda_handler(event, context):
    if "sleep" in event:
        time.sleep(event["sleep"])
    if "answer" in event:
        return "x" * event["answer"]
    return {"memory": context.memory_limit_in_mb, "left_ms": context.get_remaining_time_in_millis(),
            "size": len(event.get("pad", "")), "region": os.environ.get("AWS_REGION"),
            "default_region": os.environ.get("AWS_DEFAULT_REGION")}
"""


@pytest.fixture
def limits(tmp_path):
    (tmp_path / "handler.py").write_text(HANDLER)
    fn = LocalFunction("limits", ARN, tmp_path, "handler.lambda_handler", {}, memory_mb=512, timeout_s=2.0, log=None)
    functions = LocalLambda()
    functions.register(fn)
    with mock_aws(config=MOTO_CONFIG):
        functions.install()
        try:
            yield fn, boto3.client("lambda", region_name=REGION)
        finally:
            functions.uninstall()


def invoke(client, event: dict, **kwargs) -> tuple[str | None, object]:
    response = client.invoke(FunctionName="limits", Payload=json.dumps(event).encode(), **kwargs)
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def test_the_handler_sees_its_memory_size_and_a_deadline_at_its_timeout(limits):
    _, client = limits
    error, payload = invoke(client, {})
    assert error is None and payload["memory"] == 512 and 0 < payload["left_ms"] <= 2000
    assert payload["region"] == payload["default_region"] == "us-east-1"  # as the Lambda runtime sets them


def test_a_request_over_6_mb_is_refused_before_the_handler_runs(limits):
    fn, client = limits
    assert invoke(client, {"pad": "x" * (6 * 1024 * 1024 - 100)})[0] is None  # just under: runs
    runs = fn.invocations
    with pytest.raises(ClientError) as caught:
        invoke(client, {"pad": "x" * (6 * 1024 * 1024)})
    error = caught.value.response
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "Request must be smaller than 6291456 bytes for the InvokeFunction operation" in error["Error"]["Message"]
    assert fn.invocations == runs


def test_an_asynchronous_request_over_1_mb_is_refused(limits):
    _, client = limits
    with pytest.raises(ClientError, match=r"byte payload is too large for the Event invocation type \(limit 1048576"):
        invoke(client, {"pad": "x" * (1024 * 1024)}, InvocationType="Event")


def test_a_response_over_6_mb_is_a_function_error(limits):
    _, client = limits
    error, payload = invoke(client, {"answer": 6 * 1024 * 1024})
    assert error == "Unhandled" and payload["errorType"] == "Function.ResponseSizeTooLarge"
    assert "(6291556 bytes)" in payload["errorMessage"]


def test_past_its_timeout_the_invocation_fails_as_lambda_reports_it(limits):
    _, client = limits
    started = time.monotonic()
    error, payload = invoke(client, {"sleep": 120})
    assert time.monotonic() - started < 60  # the caller is answered at the timeout, not when the handler ends
    assert error == "Unhandled" and payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 2.00 seconds")
    assert invoke(client, {})[0] is None  # the next invocation starts afresh


def test_a_state_output_over_256_kib_fails_the_execution_with_data_limit_exceeded(limits):
    """Step Functions' quota on a state's input or output (moto's interpreter enforces it: the canary of
    what the backfill's ResultWriter is for)."""
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": ARN, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
    }
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="limits", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
    )["stateMachineArn"]
    results = {}
    for name, size in (("small", 200 * 1024), ("large", 300 * 1024)):
        execution = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({"answer": size}))
        for _ in range(400):
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
        results[name] = (described["status"], described.get("error"))
    assert results == {"small": ("SUCCEEDED", None), "large": ("FAILED", "States.DataLimitExceeded")}
