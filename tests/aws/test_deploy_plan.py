"""The deploy plan against moto's registry: late, repeated and out-of-order events decide nothing twice."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from sagelane.errors import SageLaneError, UnknownModelError
from sagelane.serving.deploy import plan, resource_name, sample_records

GROUP = "sagelane-dev-penguins-species"
TABLE = "deployments"


@pytest.fixture
def registry():
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "model", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "model", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield sagemaker, dynamodb


def add_version(sagemaker, status: str) -> str:
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]


def event(version: int, status: str, group: str = GROUP) -> dict:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {"ModelPackageGroupName": group, "ModelPackageVersion": version, "ModelApprovalStatus": status},
    }


def make_live(sagemaker, dynamodb, version: int) -> None:
    """The endpoint serves ``version`` (as a finished deploy leaves it)."""
    name = f"cfg-v{version}"
    sagemaker.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={})
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "live",
                "ModelName": name,
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="sagelane-dev-penguins-species", EndpointConfigName=name)
    dynamodb.put_item(
        TableName=TABLE,
        Item={"model": {"S": "penguins-species"}, "version": {"N": str(version)}, "endpoint_config": {"S": name}},
    )


def decide(registry, request: dict, run: str = "run-1") -> dict:
    sagemaker, dynamodb = registry
    return plan(
        sagemaker=sagemaker,
        dynamodb=dynamodb,
        table=TABLE,
        env="dev",
        models={"penguins-species", "churn-xgboost"},
        request=request,
        run=run,
    )


def test_an_approval_deploys_that_version_to_a_new_endpoint(registry):
    add_version(registry[0], "Approved")
    result = decide(registry, event(1, "Approved"))
    assert (result["action"], result["version"], result["exists"]) == ("deploy", 1, False)
    assert (
        result["model_name"] == result["endpoint_config"] == resource_name("sagelane-dev-penguins-species", 1, "run-1")
    )
    assert result["package_arn"].endswith("sagelane-dev-penguins-species/1")
    assert len(resource_name("x" * 63, 12345, "r")) <= 63


def test_late_repeated_and_out_of_order_events_are_skipped(registry):
    sagemaker, dynamodb = registry
    add_version(sagemaker, "Approved")
    add_version(sagemaker, "Approved")
    assert "superseded by Approved version 2" in decide(registry, event(1, "Approved"))["reason"]
    make_live(sagemaker, dynamodb, 2)
    repeated = decide(registry, event(2, "Approved"))
    assert repeated["action"] == "skip" and "already live" in repeated["reason"]
    # a manual request may put an older approved version back
    manual = decide(registry, {"model": "penguins-species", "version": 1})
    assert (manual["action"], manual["version"], manual["exists"]) == ("deploy", 1, True)
    assert manual["previous_endpoint_config"] == "cfg-v2" and manual["live_version"] == 2


def test_an_approval_that_was_since_withdrawn_is_not_deployed(registry):
    sagemaker, _ = registry
    arn = add_version(sagemaker, "Approved")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    assert "no longer Approved (now Rejected)" in decide(registry, event(1, "Approved"))["reason"]


def test_rejecting_the_live_version_rolls_back_to_the_newest_other_approved(registry):
    sagemaker, dynamodb = registry
    add_version(sagemaker, "Approved")
    add_version(sagemaker, "Approved")
    arn3 = add_version(sagemaker, "Approved")
    make_live(sagemaker, dynamodb, 3)
    sagemaker.update_model_package(ModelPackageArn=arn3, ModelApprovalStatus="Rejected")
    result = decide(registry, event(3, "Rejected"))
    assert (result["action"], result["version"], result["trigger"]) == ("deploy", 2, "rejection")
    assert "rolling back to version 2" in result["reason"]
    # rejecting a version that is not live changes nothing
    assert decide(registry, event(1, "Rejected"))["action"] == "skip"


def test_rejecting_the_only_approved_version_has_nothing_to_roll_back_to(registry):
    sagemaker, dynamodb = registry
    arn = add_version(sagemaker, "Approved")
    make_live(sagemaker, dynamodb, 1)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    result = decide(registry, event(1, "Rejected"))
    assert result["action"] == "nothing_to_roll_back_to" and "keeps serving" in result["reason"]


def test_bad_requests_are_refused_with_a_clear_error(registry):
    add_version(registry[0], "PendingManualApproval")
    assert "only Approved versions are deployed" in decide(registry, event(1, "PendingManualApproval"))["reason"]
    with pytest.raises(UnknownModelError, match="this deployment serves: churn-xgboost, penguins-species"):
        decide(registry, event(1, "Approved", group="sagelane-dev-unknown"))
    with pytest.raises(SageLaneError, match="no version 7"):
        decide(registry, event(7, "Approved"))
    with pytest.raises(SageLaneError, match="no valid version"):
        decide(registry, {"model": "penguins-species", "version": "1"})


def test_smoke_test_rows_follow_the_contract(penguins, churn):
    rows = sample_records(penguins)
    assert len(rows) == 2 and "species" not in rows[0]
    assert rows[0]["island"] in ("Biscoe", "Dream", "Torgersen")
    assert 25 <= rows[0]["bill_length_mm"] <= 70 and isinstance(rows[0]["year"], int)
    assert "churned" not in sample_records(churn)[0]
