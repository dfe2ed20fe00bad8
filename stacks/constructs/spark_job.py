"""The Glue job that runs the Spark validation engine on objects too large for the validate Lambda.

Glue 5.0 (Spark 3.5, Python 3.11); the script (``glue/validate_job.py``) and the ``sagelane`` package
with the contracts are assets. Job bookmarks are off (each run is one object version, named by its
arguments); a security configuration encrypts what Glue writes to S3 with the lake's key and its logs
and bookmarks with a key of its own. The role reaches only the prefixes the ingest Lambdas reach.
"""

from __future__ import annotations

import pydantic
from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as assets
from constructs import Construct

from sagelane import settings
from sagelane.config import Project
from stacks.constructs.common import allow_cloudwatch_logs
from stacks.constructs.grants import Zone
from stacks.constructs.nag import acknowledge
from stacks.constructs.python_function import stage_package

GLUE_VERSION = "5.0"
MIB = 1024 * 1024
STAGING_PREFIX = "_staging"  # the Spark job writes here, then moves the files into the partition


class SparkValidationJob(Construct):
    """Exposes ``job_name``, ``role`` and ``job``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project: Project,
        zones: dict[str, Zone],  # raw / curated / quarantine
        lake_key: kms.IKey,
        pii_salt_arn: str,
        glue_database: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        env = project.config.name
        config = project.config.ingest.glue
        raw, curated, quarantined = zones["raw"], zones["curated"], zones["quarantine"]
        self.job_name = f"sagelane-{env}-validate-large"

        script = assets.Asset(self, "Script", path=str(project.root / "glue" / "validate_job.py"))
        package = assets.Asset(self, "Package", path=str(stage_package(project)))

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"SageLane {env}: the Spark validation job (reads raw, writes curated / quarantine)",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[a.bucket.arn_for_objects(a.s3_object_key) for a in (script, package)],
            )
        )
        incoming = f"{settings.INCOMING_PREFIX}/*"
        raw.grant_read(self.role, incoming)
        curated.grant_write(self.role, f"{settings.REPORTS_PREFIX}/*")
        curated.grant_write(self.role, f"{settings.CURATED_DATA_PREFIX}/*")
        curated.grant_scratch(self.role, f"{STAGING_PREFIX}/")
        quarantined.grant_write(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources=[pii_salt_arn]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetPartition", "glue:CreatePartition"],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="database", resource_name=glue_database),
                    *(
                        stack.format_arn(service="glue", resource="table", resource_name=f"{glue_database}/{t}")
                        for t in project.contracts
                    ),
                ],
            )
        )
        logs_arn = stack.format_arn(
            service="logs", resource="log-group", resource_name="/aws-glue/*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
                resources=[logs_arn, f"{logs_arn}:*"],
            )
        )

        # Glue's own writes: logs and bookmarks under a key whose policy lets CloudWatch Logs use it.
        self.key = kms.Key(
            self,
            "LogsKey",
            description=f"SageLane {env}: encrypts the Spark validation job's logs",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        allow_cloudwatch_logs(self.key, log_groups=logs_arn)
        self.key.grant(self.role, "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
        security = glue.CfnSecurityConfiguration(
            self,
            "Security",
            name=f"sagelane-{env}-spark-validation",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=lake_key.key_arn
                    )
                ],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=self.key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=self.key.key_arn
                ),
            ),
        )
        self.job = glue.CfnJob(
            self,
            "Job",
            name=self.job_name,
            description="SageLane: validate, then curate or quarantine, one object too large for the Lambda",
            role=self.role.role_arn,
            glue_version=GLUE_VERSION,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            worker_type=config.worker_type,
            number_of_workers=config.number_of_workers,
            timeout=config.timeout_minutes,
            max_retries=0,  # the workflow decides what a failed run means
            execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=config.max_concurrent_runs),
            security_configuration=security.name,
            default_arguments={
                "--job-bookmark-option": "job-bookmark-disable",
                "--extra-py-files": package.s3_object_url,
                # Installed by Glue at start (the only package Glue 5.0 lacks); pinned to the lock's version.
                "--additional-python-modules": f"pydantic=={pydantic.VERSION}",
                "--enable-metrics": "true",
                "--enable-continuous-cloudwatch-log": "true",
                "--curated_bucket": curated.bucket.bucket_name,
                "--quarantine_bucket": quarantined.bucket.bucket_name,
                "--glue_database": glue_database,
                "--pii_salt_secret_arn": pii_salt_arn,
                "--max_object_bytes": str(config.max_object_gb * 1024 * MIB),
                "--max_uncompressed_bytes": str(config.max_uncompressed_gb * 1024 * MIB),
            },
        )
        self.job.add_dependency(security)
        nag_logs = "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws-glue/*"
        for resource in (nag_logs, f"{nag_logs}:*"):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{resource}]",
                "Glue names its log groups (/aws-glue/jobs/...) and one stream per run itself; /aws-glue/ is the "
                "narrowest prefix that holds them.",
            )
