"""Small resources every stack creates the same way: its notification topic, its tables, its workflow's address,
the right to put metrics."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


def notification_topic(scope: Construct, *, display_name: str, key: kms.IKey, emails: list[str]) -> sns.Topic:
    """An SNS topic encrypted with ``key``, TLS-only, with the environment's e-mail subscriptions."""
    topic = sns.Topic(scope, "Notifications", display_name=display_name, master_key=key, enforce_ssl=True)
    for address in emails:
        topic.add_subscription(subscriptions.EmailSubscription(address))
    return topic


def allow_cloudwatch_logs(key: kms.Key, *, log_groups: str) -> None:
    """Let CloudWatch Logs encrypt the log groups matching ``log_groups`` (a log-group ARN pattern) with ``key``."""
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        )
    )


def notify_on_change(alarm: cloudwatch.Alarm, topic: sns.ITopic, paging: sns.ITopic | None = None) -> cloudwatch.Alarm:
    """Publish ``alarm``'s changes to ALARM and back to OK on ``topic`` (and on the ``paging`` topic, if any:
    OK resolves the page)."""
    for target in (topic, paging):
        if target is not None:
            alarm.add_alarm_action(cw_actions.SnsAction(target))
            alarm.add_ok_action(cw_actions.SnsAction(target))
    return alarm


def encrypted_table(
    scope: Construct,
    id: str,
    *,
    partition_key: str,
    key: kms.IKey,
    removal_policy: RemovalPolicy,
    deletion_protection: bool = False,
) -> dynamodb.Table:
    """An on-demand DynamoDB table under ``key`` with point-in-time recovery."""
    return dynamodb.Table(
        scope,
        id,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=deletion_protection,
        removal_policy=removal_policy,
    )


def publish_workflow(scope: Construct, *, env: str, workflow: str, state_machine: sfn.IStateMachine) -> None:
    """Where the CLI finds the workflow (SSM ``/sagelane/<env>/<workflow>/state-machine-arn``), and an output."""
    name = workflow.capitalize()
    ssm.StringParameter(
        scope,
        f"{name}WorkflowParameter",
        parameter_name=f"/sagelane/{env}/{workflow}/state-machine-arn",
        string_value=state_machine.state_machine_arn,
        description=f"SageLane {env}: {workflow} workflow (read by the CLI)",
    )
    CfnOutput(scope, f"{name}StateMachineArn", value=state_machine.state_machine_arn)


def put_metrics_statement(namespace: str) -> iam.PolicyStatement:
    """``cloudwatch:PutMetricData`` (which has no resource-level permissions) limited to ``namespace``
    (a pattern with ``*``, or one namespace). The ``Resource::*`` finding is acknowledged by each caller."""
    operator = "StringLike" if "*" in namespace else "StringEquals"
    return iam.PolicyStatement(
        actions=["cloudwatch:PutMetricData"],
        resources=["*"],
        conditions={operator: {"cloudwatch:namespace": namespace}},
    )
