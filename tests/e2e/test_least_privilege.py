"""Mutation tests of the permissions the lifecycle needs: each takes one statement out of the synthesized
assembly (``tests.mutation.without``) and shows that the embedded AWS then fails the step that needs it,
with the AWS error naming principal, action and resource — so a template that loses a permission it needs
cannot run green offline. The unmutated assembly runs every one of these steps green (the e2e suite).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagelane import aws
from sagelane.local.cloud import MOTO_CONFIG, LocalCloud
from sagelane.registry import group_name
from tests.mutation import without

REGION = "us-east-1"
ACCOUNT = "123456789012"
INGEST = ["SageLane-dev-DataLake", "SageLane-dev-Ingest"]
TRAINING = [*INGEST, "SageLane-dev-Training"]
SERVING = [*TRAINING, "SageLane-dev-Serving"]
MODEL = "penguins-species"


@contextmanager
def mutated(dev, tmp_path: Path, stacks: list[str], **mutation) -> Iterator[LocalCloud]:
    """The stacks of the dev assembly with one permission removed, up on moto in this process."""
    assembly = without(dev.outdir, tmp_path / "assembly", **mutation)
    with mock_aws(config=MOTO_CONFIG):
        aws.reset()
        cloud = LocalCloud(assembly, stacks=stacks, region=REGION)
        cloud.up()
        try:
            yield cloud
        finally:
            cloud.down()
            aws.reset()


@pytest.fixture(autouse=True)
def region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def denied(role: str, action: str, resource: str) -> re.Pattern[str]:
    """AWS's denial message for ``role`` (its logical id: the local role ARNs end in it)."""
    return re.compile(
        rf"User: arn:aws:iam::{ACCOUNT}:role/{role}\w* is not authorized to perform: {re.escape(action)} "
        rf"on resource: {resource}"
    )


def history(cloud: LocalCloud, execution_arn: str) -> str:
    sfn = cloud.provisioner.client("stepfunctions")
    return json.dumps(sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"], default=str)


def drop(cloud: LocalCloud, path: Path, dataset: str = "penguins"):
    s3 = boto3.client("s3", region_name=REGION)
    s3.upload_file(str(path), bucket("raw"), f"incoming/{dataset}/{path.name}")
    (delivery,) = cloud.pump()
    return delivery, cloud.wait(delivery.execution_arn)


def bucket(zone: str) -> str:
    return f"sagelane-dev-{zone}-{ACCOUNT}-{REGION}"


KEY = rf"arn:aws:kms:{REGION}:{ACCOUNT}:key/[0-9a-f-]+"


# --- EventBridge: the target's role ----------------------------------------------------------------------


def test_without_start_execution_the_rule_cannot_start_the_ingest_workflow(dev, tmp_path, penguins_csv):
    with mutated(
        dev,
        tmp_path,
        INGEST,
        stack="SageLane-dev-Ingest",
        resource="IngestWorkflowEventsRoleDefaultPolicy",
        action="states:StartExecution",
    ) as cloud:
        boto3.client("s3", region_name=REGION).upload_file(str(penguins_csv), bucket("raw"), "incoming/penguins/a.csv")
        (delivery,) = cloud.pump()
        assert delivery.execution_arn is None and delivery.error is not None
        machine = re.escape(f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:") + r"\S+"
        assert delivery.error.startswith("AccessDeniedException: ")
        assert denied("IngestWorkflowEventsRole", "states:StartExecution", machine).search(delivery.error)
        assert (
            cloud.provisioner.client("stepfunctions").list_executions(stateMachineArn=delivery.target)["executions"]
            == []
        )


def test_a_target_role_that_does_not_trust_eventbridge_cannot_be_assumed(dev, tmp_path, penguins_csv):
    with mutated(
        dev,
        tmp_path,
        INGEST,
        stack="SageLane-dev-Ingest",
        resource="IngestWorkflowEventsRole9",
        action="sts:AssumeRole",
    ) as cloud:
        boto3.client("s3", region_name=REGION).upload_file(str(penguins_csv), bucket("raw"), "incoming/penguins/a.csv")
        (delivery,) = cloud.pump()
        assert delivery.execution_arn is None
        role = re.escape(f"arn:aws:iam::{ACCOUNT}:role/") + r"IngestWorkflowEventsRole\w*"
        assert re.search(
            rf"User: events.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: {role}",
            delivery.error or "",
        ), delivery.error


# --- S3 and KMS on objects -----------------------------------------------------------------------------


def failed_ingest(dev, tmp_path: Path, path: Path, *, resource: str, action: str, after=None) -> str:
    """Drop ``path`` on the ingest stacks without ``action`` in the Ingest stack's policy ``resource``: the
    run fails; its history (``after(cloud)`` checks more while the cloud is up)."""
    with mutated(dev, tmp_path, INGEST, stack="SageLane-dev-Ingest", resource=resource, action=action) as cloud:
        delivery, result = drop(cloud, path)
        assert result["status"] == "FAILED"
        if after is not None:
            after(cloud)
        return history(cloud, delivery.execution_arn)


def test_without_s3_read_the_validation_step_fails_naming_the_object(dev, tmp_path, penguins_csv):
    text = failed_ingest(
        dev, tmp_path, penguins_csv, resource="ValidateFunctionServiceRoleDefaultPolicy", action="s3:GetObjectVersion"
    )
    raw_object = re.escape(f"arn:aws:s3:::{bucket('raw')}/incoming/penguins/penguins.csv")
    assert denied("ValidateFunctionServiceRole", "s3:GetObjectVersion", raw_object).search(text)


def test_without_s3_write_the_curation_step_fails_naming_the_curated_key(dev, tmp_path, penguins_csv):
    def original_stays(cloud: LocalCloud) -> None:
        assert boto3.client("s3").list_objects_v2(Bucket=bucket("raw"))["KeyCount"] == 1

    text = failed_ingest(
        dev,
        tmp_path,
        penguins_csv,
        resource="CurateFunctionServiceRoleDefaultPolicy",
        action="s3:PutObject",
        after=original_stays,
    )
    curated = re.escape(f"arn:aws:s3:::{bucket('curated')}/data/penguins/") + r"\S+"
    assert denied("CurateFunctionServiceRole", "s3:PutObject", curated).search(text)


def test_without_kms_decrypt_an_sse_kms_object_cannot_be_read(dev, tmp_path, penguins_csv):
    text = failed_ingest(
        dev, tmp_path, penguins_csv, resource="ValidateFunctionServiceRoleDefaultPolicy", action="kms:Decrypt"
    )
    assert denied("ValidateFunctionServiceRole", "kms:Decrypt", KEY).search(text)


def test_without_glue_create_partition_curation_fails_naming_the_catalog_table(dev, tmp_path, penguins_csv):
    text = failed_ingest(
        dev, tmp_path, penguins_csv, resource="CurateFunctionServiceRoleDefaultPolicy", action="glue:CreatePartition"
    )
    catalog = re.escape(f"arn:aws:glue:{REGION}:{ACCOUNT}:") + r"(catalog|database/\S+|table/\S+)"
    assert denied("CurateFunctionServiceRole", "glue:CreatePartition", catalog).search(text)


# --- KMS on tables and topics ----------------------------------------------------------------------------


def test_without_kms_on_the_ledger_table_the_ingest_claim_fails(dev, tmp_path, penguins_csv):
    text = failed_ingest(
        dev, tmp_path, penguins_csv, resource="IngestWorkflowRoleDefaultPolicy", action="kms:GenerateDataKey"
    )
    assert denied("IngestWorkflowRole", "kms:GenerateDataKey", KEY).search(text)
    assert "DynamoDB.AccessDeniedException" in text  # the Claim (its ledger), before anything ran


def test_without_kms_on_the_topic_a_workflow_cannot_publish(dev, tmp_path):
    # the ingest role's only use of the key besides its table: its notification topic
    with mutated(
        dev,
        tmp_path,
        INGEST,
        stack="SageLane-dev-Ingest",
        resource="IngestWorkflowRoleDefaultPolicy",
        action="kms:GenerateDataKey",
    ) as cloud:
        role = next(arn for arn in cloud.authority.principals if "IngestWorkflowRole" in arn)
        credentials = cloud.authority.credentials(role)
        sns = boto3.client(
            "sns",
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        with pytest.raises(ClientError) as error:
            sns.publish(TopicArn=cloud.ref("SageLane-dev-Ingest", "Notifications"), Message="m", Subject="s")
        assert error.value.response["Error"]["Code"] == "KMSAccessDenied"  # SNS's code for it
        assert denied("IngestWorkflowRole", "kms:GenerateDataKey", KEY).search(error.value.response["Error"]["Message"])


def test_without_the_key_policy_statement_for_cloudwatch_no_alarm_notifies(dev, tmp_path):
    with mutated(
        dev,
        tmp_path,
        SERVING,
        stack="SageLane-dev-DataLake",
        resource="LakeKey0",
        sid="CloudWatchAlarmsPublishToEncryptedTopics",
    ) as cloud:
        cloudwatch = boto3.client("cloudwatch")
        alarm = next(
            a
            for a in cloudwatch.describe_alarms()["MetricAlarms"]
            if a["AlarmActions"] and a["ComparisonOperator"].startswith("GreaterThan") and a.get("MetricName")
        )
        now = datetime.now(UTC)
        cloudwatch.put_metric_data(
            Namespace=alarm["Namespace"],
            MetricData=[
                {
                    "MetricName": alarm["MetricName"],
                    "Dimensions": alarm.get("Dimensions", []),
                    "Timestamp": now - timedelta(seconds=30 + 60 * minute),
                    "Value": alarm["Threshold"] * 10 + 10,
                }
                for minute in range(alarm["EvaluationPeriods"] * max(1, alarm["Period"] // 60))
            ],
        )
        cloud.alarms.evaluate()
        assert cloud.alarms.failed_actions, "the alarm's notification went out without the key policy statement"
        failure = " ".join(str(f) for f in cloud.alarms.failed_actions)
        assert "cloudwatch.amazonaws.com is not authorized to perform: kms:GenerateDataKey" in failure


# --- training ----------------------------------------------------------------------------------------------


def _train(cloud: LocalCloud, penguins_csv: Path) -> tuple[str, dict]:
    _, result = drop(cloud, penguins_csv)
    assert result["status"] == "SUCCEEDED", result
    sfn = cloud.provisioner.client("stepfunctions")
    machine = cloud.ref("SageLane-dev-Training", "TrainWorkflow")
    run = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"model": MODEL, "trigger": "manual"}))
    return run["executionArn"], cloud.wait(run["executionArn"], timeout=240)


def test_without_pass_role_the_training_job_is_never_created(dev, tmp_path, penguins_csv):
    with mutated(
        dev,
        tmp_path,
        TRAINING,
        stack="SageLane-dev-Training",
        resource="TrainWorkflowRoleDefaultPolicy",
        action="iam:PassRole",
    ) as cloud:
        arn, result = _train(cloud, penguins_csv)
        assert result["status"] == "FAILED"
        training_role = rf"arn:aws:iam::{ACCOUNT}:role/TrainingRole\w+"
        assert denied("TrainWorkflowRole", "iam:PassRole", training_role).search(history(cloud, arn))
        assert boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []


def test_without_list_bucket_the_prefix_channel_download_fails(dev, tmp_path, penguins_csv):
    with mutated(
        dev,
        tmp_path,
        TRAINING,
        stack="SageLane-dev-Training",
        resource="TrainingRoleDefaultPolicy",
        action="s3:ListBucket",
    ) as cloud:
        arn, result = _train(cloud, penguins_csv)
        assert result["status"] == "FAILED"
        artifacts = re.escape(f"arn:aws:s3:::{bucket('artifacts')}")
        assert denied("TrainingRole", "s3:ListBucket", artifacts).search(history(cloud, arn))


# --- serving: autoscaling, the approver and invoke policies -------------------------------------------------


def _as(cloud: LocalCloud, service: str, credentials: dict[str, str]):
    return boto3.client(
        service,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )


def test_without_update_weights_application_auto_scaling_refuses_the_target(dev, tmp_path):
    with mutated(
        dev,
        tmp_path,
        SERVING,
        stack="SageLane-dev-Serving",
        resource="DeployWorkflowRoleDefaultPolicy",
        action="sagemaker:UpdateEndpointWeightsAndCapacities",
    ) as cloud:
        role = next(arn for arn in cloud.authority.principals if "DeployWorkflowRole" in arn)
        autoscaling = _as(cloud, "application-autoscaling", cloud.authority.credentials(role))
        with pytest.raises(ClientError) as error:
            autoscaling.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId="endpoint/sagelane-dev-churn-xgboost/variant/live",
                ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                MinCapacity=1,
                MaxCapacity=2,
            )
        assert error.value.response["Error"]["Code"] == "ValidationException"
        endpoint = re.escape(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/sagelane-dev-churn-xgboost")
        assert denied("DeployWorkflowRole", "sagemaker:UpdateEndpointWeightsAndCapacities", endpoint).search(
            error.value.response["Error"]["Message"]
        )


def _package(cloud: LocalCloud) -> str:
    sagemaker = boto3.client("sagemaker")  # the operator registers a version to approve
    return sagemaker.create_model_package(
        ModelPackageGroupName=group_name("dev", MODEL), ModelApprovalStatus="PendingManualApproval"
    )["ModelPackageArn"]


def test_without_its_update_statement_the_approver_policy_cannot_approve(dev, tmp_path):
    with mutated(
        dev,
        tmp_path,
        TRAINING,
        stack="SageLane-dev-Training",
        resource="ApproverPolicy",
        action="sagemaker:UpdateModelPackage",
    ) as cloud:
        package = _package(cloud)
        policy = next(p for p in cloud.authority.managed_documents if p.endswith(":policy/sagelane-dev-model-approver"))
        approver = _as(cloud, "sagemaker", cloud.authority.attach(f"arn:aws:iam::{ACCOUNT}:role/Approver", policy))
        approver.describe_model_package(ModelPackageName=package)  # what the policy still grants works
        with pytest.raises(ClientError) as error:
            approver.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
        assert error.value.response["Error"]["Code"] == "AccessDeniedException"
        assert denied("Approver", "sagemaker:UpdateModelPackage", re.escape(package)).search(
            error.value.response["Error"]["Message"]
        )


def test_without_its_statement_the_invoke_policy_cannot_invoke(dev, tmp_path):
    with mutated(
        dev, tmp_path, SERVING, stack="SageLane-dev-Serving", resource="InvokePolicy", action="sagemaker:InvokeEndpoint"
    ) as cloud:
        policy = next(p for p in cloud.authority.managed_documents if p.endswith(":policy/sagelane-dev-invoke"))
        app = _as(cloud, "sagemaker-runtime", cloud.authority.attach(f"arn:aws:iam::{ACCOUNT}:role/App", policy))
        with pytest.raises(ClientError) as error:
            app.invoke_endpoint(EndpointName=f"sagelane-dev-{MODEL}", Body=b"{}", ContentType="application/json")
        assert error.value.response["Error"]["Code"] == "AccessDeniedException"
        endpoint = re.escape(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/sagelane-dev-{MODEL}")
        assert denied("App", "sagemaker:InvokeEndpoint", endpoint).search(error.value.response["Error"]["Message"])


def test_the_unmutated_policies_do_what_the_mutations_take_away(dev, tmp_path):
    """The control: the same calls as the approver and an application succeed on the assembly as built."""
    with mock_aws(config=MOTO_CONFIG):
        aws.reset()
        cloud = LocalCloud(dev.outdir, stacks=SERVING, region=REGION)
        cloud.up()
        try:
            package = _package(cloud)
            approver_policy = next(
                p for p in cloud.authority.managed_documents if p.endswith(":policy/sagelane-dev-model-approver")
            )
            approver = _as(
                cloud, "sagemaker", cloud.authority.attach(f"arn:aws:iam::{ACCOUNT}:role/Approver", approver_policy)
            )
            approver.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
            invoke_policy = next(
                p for p in cloud.authority.managed_documents if p.endswith(":policy/sagelane-dev-invoke")
            )
            app = _as(
                cloud, "sagemaker-runtime", cloud.authority.attach(f"arn:aws:iam::{ACCOUNT}:role/App", invoke_policy)
            )
            with pytest.raises(ClientError) as error:  # authorized: the endpoint just does not exist
                app.invoke_endpoint(EndpointName=f"sagelane-dev-{MODEL}", Body=b"{}", ContentType="application/json")
            assert error.value.response["Error"]["Code"] != "AccessDeniedException"
        finally:
            cloud.down()
            aws.reset()
