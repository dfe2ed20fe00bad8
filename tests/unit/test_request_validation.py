"""The embedded AWS validates each request against the API's model, as the service does (issue 16)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagelane import model_metadata
from sagelane.local import constraints, gate

REGION = "us-east-1"
PACKAGE = {
    "ModelPackageGroupName": "g",
    "ModelApprovalStatus": "PendingManualApproval",
    "InferenceSpecification": {
        "Containers": [{"Image": "img:1"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["application/json"],
    },
}


@pytest.fixture
def validated():
    gate.install()
    with mock_aws():
        yield
    gate.uninstall()


def _error(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def test_model_package_metadata_breaking_the_pattern_or_length_is_refused(validated):
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName="g")
    metadata = {"metrics": json.dumps({"auc": 0.9}), "note": "x" * 257}
    error = _error(sagemaker.create_model_package, **PACKAGE, CustomerMetadataProperties=metadata)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("2 validation errors detected")
    text = error["Message"]
    assert "'customerMetadataProperties.metrics' failed to satisfy constraint: Member must satisfy regular" in text
    assert "'customerMetadataProperties.note' failed to satisfy constraint: Member must have length less than" in text
    # what the kit sends instead passes, and nothing was created by the refused call
    sagemaker.create_model_package(**PACKAGE, CustomerMetadataProperties={"metric:auc": "0.9"})
    assert len(sagemaker.list_model_packages(ModelPackageGroupName="g")["ModelPackageSummaryList"]) == 1


def test_over_long_and_off_pattern_values_are_refused_by_several_apis(validated):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
    error = _error(sfn.start_execution, stateMachineArn=machine, name="n" * 81)
    assert error["Code"] == "ValidationException" and "'name'" in error["Message"]
    assert "length less than or equal to 80" in error["Message"]

    events = boto3.client("events", region_name=REGION)
    error = _error(events.put_rule, Name="has spaces", EventPattern="{}")
    assert error["Code"] == "ValidationException" and "regular expression pattern" in error["Message"]

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    error = _error(dynamodb.scan, TableName="tbl", Segment=0, TotalSegments=2_000_000)  # at most 1,000,000
    assert error["Code"] == "ValidationException" and "less than or equal to 1000000" in error["Message"]

    lambda_ = boto3.client("lambda", region_name=REGION)
    error = _error(lambda_.get_function, FunctionName="f" * 300)
    assert error["Code"] == "InvalidParameterValueException"  # Lambda's own code for bad input

    sagemaker = boto3.client("sagemaker", region_name=REGION)
    error = _error(sagemaker.list_model_packages, ModelApprovalStatus="Maybe")
    assert "enum value set" in error["Message"]


def test_required_members_are_checked_even_when_the_client_does_not(validated):
    # moto's Step Functions interpreter builds its clients with parameter_validation=False
    from botocore.config import Config

    sagemaker = boto3.client("sagemaker", region_name=REGION, config=Config(parameter_validation=False))
    error = _error(sagemaker.describe_training_job)
    assert error["Code"] == "ValidationException" and "Value null at 'trainingJobName'" in error["Message"]


def test_the_switch_turns_validation_off(validated):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    with gate.enforcing(False):
        error = _error(sfn.describe_execution, executionArn="x" * 3000)
    assert error["Code"] != "ValidationException"  # moto's own answer


@pytest.mark.parametrize(
    "reason",
    [
        "macro_f1 0.9605 meets the thresholds; no champion to beat",
        'roc_auc 0.61 < 0.75 {"hostile": [1, 2]}, (quoted) \u00e9t\u00e9',
        "\n\t" * 200,
        "",
    ],
)
def test_registration_metadata_always_meets_the_model(reason):
    operation = boto3.client("sagemaker", region_name=REGION).meta.service_model.operation_model("CreateModelPackage")
    shape = operation.input_shape.members["CustomerMetadataProperties"]
    metrics = {f"m{i}": i / 7 for i in range(80)} | {"bad": float("nan"), "flag": True, "rows": 51}
    encoded = model_metadata.encode({"decision": reason, "dataset": "penguins", "alarm": None}, metrics)
    assert constraints.violations(shape, encoded) == []
    assert len(encoded) == model_metadata.MAX_ENTRIES and "alarm" not in encoded
    decoded = model_metadata.metrics(encoded)
    assert decoded["m0"] == 0.0 and decoded["m1"] == pytest.approx(1 / 7) and "bad" not in decoded


def test_patterns_match_the_whole_value():
    shape = boto3.client("sagemaker", region_name=REGION).meta.service_model.shape_for("TrainingJobName")
    assert constraints.violations(shape, "job-1") == []
    assert constraints.violations(shape, "job 1") != []  # a search would find "job" and pass
