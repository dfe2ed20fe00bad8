"""Small resources every stack creates the same secure way: its notification topic, its tables."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


def notification_topic(scope: Construct, *, display_name: str, key: kms.IKey, emails: list[str]) -> sns.Topic:
    """An SNS topic encrypted with ``key``, TLS-only, with the environment's e-mail subscriptions."""
    topic = sns.Topic(scope, "Notifications", display_name=display_name, master_key=key, enforce_ssl=True)
    for address in emails:
        topic.add_subscription(subscriptions.EmailSubscription(address))
    return topic


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
