"""Every synthesized workflow, read as Step Functions reads it: error names it can meet, paths it writes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sagelane.local.cloud import MOTO_CONFIG
from sagelane.local.sfn_errors import SERVICES, raisable
from tests.synth import definition

WORKFLOWS = [("Ingest", "IngestWorkflow"), ("Ingest", "BackfillWorkflow"), ("Training", "Train"), ("Serving", "Deploy")]


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch["States"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _states(processor["States"])


def _machines(synth) -> Iterator[tuple[str, dict[str, Any]]]:
    for stack, name in WORKFLOWS:
        yield from _states(definition(synth.template(stack), name)["States"])


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_retries_and_catches_name_only_errors_the_integration_raises(env, request):
    synth = request.getfixturevalue(env)
    checked = 0
    for name, state in _machines(synth):
        known = raisable(state.get("Resource", ""))
        if known is None:
            continue
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for error in rule["ErrorEquals"]:
                if not error.startswith("States."):
                    assert error in known, f"{name}: {error} is never raised by {state['Resource']}"
                    checked += 1
    assert checked >= 10  # the SageMaker and Application Auto Scaling tasks of train and deploy


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_retry_on_an_sdk_base_exception_gives_up_within_a_minute(env, request):
    # the base exception also carries ValidationException: retrying it for minutes only delays the failure
    bases = {f"{prefix}.{base}" for prefix, base, _ in SERVICES.values()}
    for name, state in _machines(request.getfixturevalue(env)):
        for rule in state.get("Retry", []):
            if bases & set(rule["ErrorEquals"]):
                rate = rule.get("BackoffRate", 2.0)
                waits = [rule["IntervalSeconds"] * rate**i for i in range(rule["MaxAttempts"])]
                assert sum(waits) <= 60, f"{name} retries {rule['ErrorEquals']} for {sum(waits):.0f} s"


def _run_alone(state: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Execute one synthesized state by itself (its Next made End) and return the execution's output."""
    alone = {k: v for k, v in state.items() if k != "Next"} | {"End": True}
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(
        name="one-state",
        definition=json.dumps({"StartAt": "S", "States": {"S": alone}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(given))["executionArn"]
    for _ in range(200):
        run = sfn.describe_execution(executionArn=arn)
        if run["status"] != "RUNNING":
            assert run["status"] == "SUCCEEDED", run
            return json.loads(run["output"])
        time.sleep(0.05)
    raise AssertionError("the state did not finish")


def test_a_rolled_back_update_reaches_the_failure_notice_with_its_error_and_cause(dev):
    (state,) = [s for n, s in _machines(dev) if n == "EndpointNotUpdated"]
    assert not [k for k in state["Parameters"] if k.endswith(".$.$")]
    given = {
        "plan": {"endpoint": "sagelane-dev-m", "endpoint_config": "m-v2"},
        "endpoint": {"status": "InService", "config": "m-v1"},
    }
    with mock_aws(config=MOTO_CONFIG):
        output = _run_alone(state, given)
    # NotifyDeployFailed formats $.error.Error and $.error.Cause
    assert output["error"]["Error"] == "EndpointNotUpdated"
    assert output["error"]["Cause"].startswith("endpoint sagelane-dev-m is InService on config m-v1 instead of m-v2")


def test_every_distributed_map_writes_its_results_to_s3_not_into_the_state(dev):
    """Inline results of a Distributed Map count against the 256 KiB state limit: past about a thousand
    files a backfill would end in States.DataLimitExceeded (finding 9). Its ResultWriter puts them in S3."""
    maps = [
        (name, state)
        for name, state in _machines(dev)
        if state.get("Type") == "Map"
        and state.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
    ]
    assert maps
    for name, state in maps:
        writer = state.get("ResultWriter")
        assert writer is not None, f"{name}: a Distributed Map without a ResultWriter"
        assert writer["Resource"].endswith(":states:::s3:putObject")
        assert writer["Parameters"]["Prefix"] == "backfill/"


def test_a_deploy_keeps_the_instance_count_autoscaling_set(dev):
    """RetainAllVariantProperties false would drop a scaled-out endpoint back to its initial instance count
    at every deploy (finding 5); the new config's data capture settings still apply."""
    (update,) = [state for name, state in _machines(dev) if name == "UpdateEndpoint"]
    parameters = update["Parameters"]
    assert parameters["RetainAllVariantProperties"] is True
    assert parameters["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DataCaptureConfig"}]
