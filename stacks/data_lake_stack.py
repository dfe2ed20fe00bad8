"""The data lake: raw / curated / quarantine / artifacts zones, their key, access logs and the catalog."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from sagelane.catalog import PARQUET_STORAGE, glue_columns, partition_keys, table_name
from sagelane.config import Project
from sagelane.settings import CURATED_DATA_PREFIX
from stacks.constructs.common import allow_cloudwatch_logs
from stacks.constructs.grants import Zone
from stacks.constructs.nag import acknowledge, skip_checkov
from stacks.constructs.secure_bucket import SecureBucket


def lake_bucket_name(env: str, zone: str, *, account: str = Aws.ACCOUNT_ID, region: str = Aws.REGION) -> str:
    """``sagelane-<env>-<zone>-<account>-<region>``: predictable for operators, unique per account and region.

    Other stacks refer to a zone by this name (built from their own pseudo parameters), not through a
    CloudFormation export, so the lake can evolve without export locks.
    """
    return f"sagelane-{env}-{zone}-{account}-{region}"


# checkov findings on CDK's bucket-notifications handler, which runs only while CloudFormation deploys the stack.
CDK_HANDLER_SKIPS = {
    "CKV_AWS_115": "runs once per deployment; reserved concurrency would only take capacity from the account.",
    "CKV_AWS_116": "CloudFormation invokes it synchronously and fails the deployment on error; a DLQ holds nothing.",
    "CKV_AWS_117": "it calls only the S3 API; a VPC would need endpoints or a NAT gateway for no isolation gained.",
    "CKV_AWS_173": "it has no environment variables to encrypt.",
}


class DataLakeStack(Stack):
    """Exposes ``key``, ``raw``, ``curated``, ``quarantine``, ``artifacts`` (buckets), ``access_logs``,
    ``pii_salt`` (secret), ``glue_database_name``, ``tables`` (dataset → Glue table) and
    :meth:`zone_bucket` to use a zone from another stack."""

    def __init__(self, scope: Construct, id: str, *, project: Project, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = project.config
        env = self.env_name = config.name
        removal = RemovalPolicy.RETAIN if config.lake.removal_policy == "retain" else RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "LakeKey",
            description=f"SageLane {env}: encrypts the data lake, its catalog secret, topics and tables",
            enable_key_rotation=True,
            alias=f"alias/sagelane-{env}-lake",
            removal_policy=removal,
        )
        # Alarm actions publish to the (encrypted) notification and paging topics as CloudWatch itself: without
        # this statement no alarm notification is ever delivered (the CloudWatch user guide, "Alarm actions":
        # an SNS topic encrypted with a customer managed key must let cloudwatch.amazonaws.com use it).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToEncryptedTopics",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        self.paging: sns.Topic | None = None
        if config.notifications.paging:
            self.paging = sns.Topic(
                self, "Paging", display_name=f"SageLane {env} paging", master_key=self.key, enforce_ssl=True
            )
            for address in config.notifications.paging_emails:
                self.paging.add_subscription(subscriptions.EmailSubscription(address))
            CfnOutput(self, "PagingTopicArn", value=self.paging.topic_arn, description="subscribe the on-call tool")
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging cannot write to SSE-KMS buckets
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs",
                    expiration=Duration.days(config.lake.access_log_expiry_days),
                    noncurrent_version_expiration=Duration.days(1),
                )
            ],
            removal_policy=removal,
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This is the access-log bucket of the lake; logging its own accesses into itself would loop.",
        )
        skip_checkov(
            self.access_logs,
            "CKV_AWS_18",
            "This is the access-log bucket of the lake; logging its own accesses into itself would loop.",
        )
        # The kit's log groups (Lambda functions, workflows; CloudFormation names them after their stack) are
        # encrypted with the lake key: what handlers log about rows and files is data too.
        allow_cloudwatch_logs(
            self.key,
            log_groups=self.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"SageLane-{env}-*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )

        self.bucket_names: dict[str, str] = {}

        def zone(name: str, **props: Any) -> s3.Bucket:
            bucket_name = lake_bucket_name(env, name.lower())
            self.bucket_names[name.lower()] = bucket_name
            return SecureBucket(
                self,
                name,
                bucket_name=bucket_name,
                key=self.key,
                access_logs=self.access_logs,
                removal_policy=removal,
                **props,
            ).bucket

        self.raw = zone(
            "Raw",
            event_bridge=True,
            noncurrent_version_days=config.lake.raw_noncurrent_version_days,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="raw-to-infrequent-access",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(config.lake.raw_transition_to_ia_days),
                        )
                    ],
                )
            ],
        )
        notifications_handler = self.node.try_find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
        if notifications_handler is not None:
            acknowledge(
                notifications_handler.node.find_child("Role"),
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "CDK's own custom resource that switches on EventBridge delivery for the raw bucket at deploy "
                "time; the managed policy only lets it write its own logs.",
            )
            for check, reason in CDK_HANDLER_SKIPS.items():
                skip_checkov(notifications_handler, check, f"CDK's own deploy-time custom resource handler: {reason}")
        self.curated = zone("Curated", noncurrent_version_days=config.lake.raw_noncurrent_version_days)
        self.quarantine = zone(
            "Quarantine",
            noncurrent_version_days=30,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-quarantine", expiration=Duration.days(config.lake.quarantine_expiry_days))
            ],
        )
        self.artifacts = zone("Artifacts", noncurrent_version_days=config.lake.raw_noncurrent_version_days)

        self.pii_salt = secretsmanager.Secret(
            self,
            "PiiSalt",
            description=f"SageLane {env}: secret salt for hashing PII columns (HMAC-SHA256) in the curated zone",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=removal,
        )
        acknowledge(
            self.pii_salt,
            "AwsSolutions-SMG4",
            "Rotating the PII salt changes every hashed value and breaks joins with earlier partitions; "
            "rotation is a planned operation (docs/operations.md), not an automatic schedule.",
        )

        self.glue_database_name = f"sagelane_{env.replace('-', '_')}"
        database = glue.CfnDatabase(
            self,
            "Catalog",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.glue_database_name, description=f"SageLane {env}: curated datasets (Parquet)"
            ),
        )
        self.tables: dict[str, glue.CfnTable] = {}
        for dataset, contract in project.contracts.items():
            table = glue.CfnTable(
                self,
                f"Table-{dataset}",
                catalog_id=self.account,
                database_name=self.glue_database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=table_name(contract),
                    description=(contract.description or dataset)[:2048],
                    table_type="EXTERNAL_TABLE",
                    parameters={
                        "classification": "parquet",
                        "sagelane:contract_version": str(contract.version),
                        "sagelane:contract_sha256": contract.fingerprint,
                    },
                    partition_keys=[
                        glue.CfnTable.ColumnProperty(name=k["Name"], type=k["Type"], comment=k["Comment"])
                        for k in partition_keys()
                    ],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        columns=[
                            glue.CfnTable.ColumnProperty(name=c["Name"], type=c["Type"], comment=c["Comment"])
                            for c in glue_columns(contract)
                        ],
                        location=f"s3://{self.curated.bucket_name}/{CURATED_DATA_PREFIX}/{dataset}/",
                        input_format=PARQUET_STORAGE["InputFormat"],
                        output_format=PARQUET_STORAGE["OutputFormat"],
                        serde_info=glue.CfnTable.SerdeInfoProperty(
                            serialization_library=PARQUET_STORAGE["SerdeInfo"]["SerializationLibrary"]
                        ),
                    ),
                ),
            )
            table.node.add_dependency(database)
            self.tables[dataset] = table

        for name, bucket in {
            "raw": self.raw,
            "curated": self.curated,
            "quarantine": self.quarantine,
            "artifacts": self.artifacts,
        }.items():
            CfnOutput(self, f"{name.capitalize()}BucketName", value=bucket.bucket_name)
            ssm.StringParameter(
                self,
                f"{name.capitalize()}BucketParameter",
                parameter_name=f"/sagelane/{env}/lake/{name}-bucket",
                string_value=bucket.bucket_name,
                description=f"SageLane {env}: {name} zone bucket (read by the CLI)",
            )
        CfnOutput(self, "GlueDatabase", value=self.glue_database_name)

    def zone(self, scope: Construct, zone: str) -> Zone:
        """The ``zone`` bucket as seen from ``scope`` (any stack of the same environment)."""
        bucket = s3.Bucket.from_bucket_attributes(
            scope, f"{zone.capitalize()}Zone", bucket_name=self.bucket_names[zone], encryption_key=self.key
        )
        nag_name = lake_bucket_name(self.env_name, zone, account="<AWS::AccountId>", region="<AWS::Region>")
        return Zone(bucket=bucket, key=self.key, nag_name=nag_name)
