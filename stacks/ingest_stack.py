"""The ingest workflow: S3 "Object Created" under incoming/<dataset>/ → validate → curate or quarantine."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sagelane import settings
from sagelane.config import Project
from stacks.constructs.common import encrypted_table, notification_topic, publish_workflow
from stacks.constructs.grants import grant_encrypted_tables_and_topics
from stacks.constructs.nag import acknowledge, acknowledge_workflow_role, skip_checkov
from stacks.constructs.python_function import PythonFunction, dependency_layer, powertools_layer
from stacks.constructs.spark_job import SparkValidationJob
from stacks.data_lake_stack import DataLakeStack
from step_functions.backfill import BACKFILL_RESULTS_PREFIX, build_backfill_definition
from step_functions.ingest import RESULTS_PREFIX, IngestFunctions, SparkRoute, build_ingest_definition

MIB = 1024 * 1024
# The event the ingest workflow emits when a file is curated (the Training stack's trigger).
SAGELANE_SOURCE = "sagelane"
CURATED_EVENT = "SageLane Dataset Curated"


def log_retention(days: int) -> logs.RetentionDays:
    return getattr(logs.RetentionDays, _retention_name(days))


class IngestStack(Stack):
    """Exposes ``state_machine``, ``topic``, ``ledger`` and ``functions``."""

    def __init__(self, scope: Construct, id: str, *, project: Project, lake: DataLakeStack, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = project.config
        env = config.name
        ingest = config.ingest
        retain = config.lake.removal_policy == "retain"
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        retention = log_retention(config.logging.retention_days)

        self.topic = notification_topic(
            self, display_name=f"SageLane {env} ingest", key=lake.key, emails=config.notifications.emails
        )
        self.ledger = encrypted_table(
            self, "Ledger", partition_key="object_id", key=lake.key, removal_policy=removal, deletion_protection=retain
        )

        layers = [dependency_layer(self, "Dependencies", root=project.root), powertools_layer(self, "Powertools")]
        limits = {
            settings.MAX_OBJECT_BYTES: str(ingest.lambda_max_object_mb * MIB),
            settings.MAX_UNCOMPRESSED_BYTES: str(ingest.max_uncompressed_mb * MIB),
        }
        raw, curated, quarantined = (lake.zone(self, z) for z in ("raw", "curated", "quarantine"))
        zones = {
            settings.RAW_BUCKET: raw.bucket.bucket_name,
            settings.CURATED_BUCKET: curated.bucket.bucket_name,
            settings.QUARANTINE_BUCKET: quarantined.bucket.bucket_name,
        }

        def function(name: str, handler: str, description: str, memory: int, extra: dict[str, str]) -> PythonFunction:
            return PythonFunction(
                self,
                name,
                project=project,
                handler=handler,
                description=description,
                layers=layers,
                environment={**zones, **limits, **extra},
                memory_mb=memory,
                timeout=Duration.seconds(ingest.lambda_timeout_s),
                ephemeral_storage_mb=ingest.ephemeral_storage_mb,
                log_retention=retention,
                log_key=lake.key,
                removal_policy=removal,
            )

        validate = function(
            "Validate",
            "ingest_validate",
            "Validate a raw file against its data contract",
            ingest.validate_memory_mb,
            {},
        )
        curate = function(
            "Curate",
            "ingest_curate",
            "Write a validated file to the curated zone as Parquet",
            ingest.curate_memory_mb,
            {settings.GLUE_DATABASE: lake.glue_database_name, settings.PII_SALT_SECRET_ARN: lake.pii_salt.secret_arn},
        )
        quarantine = function("Quarantine", "ingest_quarantine", "Copy a rejected file to the quarantine zone", 512, {})
        self.functions = IngestFunctions(validate.function, curate.function, quarantine.function)

        # Least privilege, through grants: each function reaches only its own prefixes.
        incoming = f"{settings.INCOMING_PREFIX}/*"
        for fn in (validate, curate, quarantine):
            raw.grant_read(fn.function, incoming)
        curated.grant_write(validate.function, f"{settings.REPORTS_PREFIX}/*")
        quarantined.grant_write(validate.function)
        curated.grant_write(curate.function, f"{settings.CURATED_DATA_PREFIX}/*")
        quarantined.grant_write(quarantine.function)
        # Secret.grant_read would add the role to the lake key's policy (a DataLake → Ingest dependency
        # cycle); the same permissions are granted on the role's side instead.
        curate.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[lake.pii_salt.secret_arn],
            )
        )
        lake.key.grant_decrypt(curate.function)
        curate.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetPartition", "glue:CreatePartition"],
                resources=[
                    self.format_arn(service="glue", resource="catalog"),
                    self.format_arn(service="glue", resource="database", resource_name=lake.glue_database_name),
                    *(
                        self.format_arn(
                            service="glue", resource="table", resource_name=f"{lake.glue_database_name}/{t}"
                        )
                        for t in project.contracts
                    ),
                ],
            )
        )

        self.spark_job = SparkValidationJob(
            self,
            "SparkValidation",
            project=project,
            zones={"raw": raw, "curated": curated, "quarantine": quarantined},
            lake_key=lake.key,
            pii_salt_arn=lake.pii_salt.secret_arn,
            glue_database=lake.glue_database_name,
            removal_policy=removal,
        )

        log_group = logs.LogGroup(
            self, "IngestWorkflowLogs", retention=retention, removal_policy=removal, encryption_key=lake.key
        )
        self.state_machine = sfn.StateMachine(
            self,
            "IngestWorkflow",
            comment="SageLane ingest: validate a raw file against its contract, then curate or quarantine it",
            definition_body=sfn.DefinitionBody.from_chainable(
                build_ingest_definition(
                    self,
                    functions=self.functions,
                    ledger=self.ledger,
                    topic=self.topic,
                    max_object_bytes=ingest.lambda_max_object_mb * MIB,
                    spark=SparkRoute(
                        job_name=self.spark_job.job_name,
                        max_object_bytes=ingest.glue.max_object_gb * 1024 * MIB,
                        results=curated.bucket,
                        timeout_minutes=ingest.glue.timeout_minutes,
                    ),
                    environment=env,
                    curated_event=(SAGELANE_SOURCE, CURATED_EVENT),
                )
            ),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.minutes(60 + ingest.glue.timeout_minutes + 10),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        acknowledge_workflow_role(self.state_machine, [validate.function, curate.function, quarantine.function])
        # the ledger and the topic are encrypted with the lake key (and so is the Spark job's verdict)
        grant_encrypted_tables_and_topics(lake.key, self.state_machine)
        acknowledge(
            self.state_machine.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{curated.nag_name}/{RESULTS_PREFIX}/*]",
            "s3:GetObject on the Spark job's verdicts only: one object per execution, named after it.",
        )

        # S3 → EventBridge → this workflow, one rule per dataset. Undeliverable events go to a DLQ.
        self.dead_letters = sqs.Queue(
            self,
            "IngestDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the ingest rules; it has no DLQ of its own.",
        )
        skip_checkov(
            self.dead_letters,
            "CKV_AWS_27",
            "Encrypted at rest with SQS-managed keys (checkov recognises only a KMS key id); it holds S3 event "
            "envelopes (bucket, key, size), and a customer key would have to let EventBridge use the lake key.",
        )
        self.rules: dict[str, events.Rule] = {}
        for dataset in project.contracts:
            rule = events.Rule(
                self,
                f"Ingest-{dataset}",
                description=f"Files dropped under {settings.INCOMING_PREFIX}/{dataset}/ start the ingest workflow",
                event_pattern=events.EventPattern(
                    source=["aws.s3"],
                    detail_type=["Object Created"],
                    detail={
                        "bucket": {"name": [raw.bucket.bucket_name]},
                        "object": {"key": [{"prefix": f"{settings.INCOMING_PREFIX}/{dataset}/"}]},
                    },
                ),
            )
            rule.add_target(
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_object(
                        {
                            "dataset": dataset,
                            "bucket": events.EventField.from_path("$.detail.bucket.name"),
                            "key": events.EventField.from_path("$.detail.object.key"),
                            "version_id": events.EventField.from_path("$.detail.object.version-id"),
                            "etag": events.EventField.from_path("$.detail.object.etag"),
                            "size": events.EventField.from_path("$.detail.object.size"),
                            "event_time": events.EventField.from_path("$.time"),
                            "event_id": events.EventField.from_path("$.id"),
                        }
                    ),
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            )
            self.rules[dataset] = rule

        publish_workflow(self, env=env, workflow="ingest", state_machine=self.state_machine)

        # Backfill: every object under a prefix through the ingest workflow (Distributed Map).
        summarize = function("BackfillSummary", "backfill_summary", "Count a backfill's outcomes", 256, {})
        backfill_logs = logs.LogGroup(
            self, "BackfillWorkflowLogs", retention=retention, removal_policy=removal, encryption_key=lake.key
        )
        self.backfill = sfn.StateMachine(
            self,
            "BackfillWorkflow",
            comment="SageLane backfill: every object under a prefix of the raw zone through the ingest workflow",
            definition_body=sfn.DefinitionBody.from_chainable(
                build_backfill_definition(
                    self,
                    raw=raw.bucket,
                    ingest=self.state_machine,
                    summarize=summarize.function,
                    results=curated.bucket,
                    max_concurrency=ingest.backfill_concurrency,
                )
            ),
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=backfill_logs, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        acknowledge_workflow_role(self.backfill, [summarize.function])
        # the map run's results: the workflow writes them (ResultWriter), the summary reads them
        curated.grant_write(self.backfill, f"{BACKFILL_RESULTS_PREFIX}/*")
        curated.grant_read(summarize.function, f"{BACKFILL_RESULTS_PREFIX}/*")

        def executions(machine: sfn.StateMachine, suffix: str) -> str:
            logical = self.get_logical_id(machine.node.default_child)  # type: ignore[arg-type]
            name = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{logical}"}}]}}]}}'
            arn = f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}{suffix}"
            return f"AwsSolutions-IAM5[Resource::{arn}]"

        acknowledge(
            self.backfill.role,
            executions(self.state_machine, "*"),
            "DescribeExecution / StopExecution on the ingest runs this backfill starts (startExecution.sync:2); "
            "their names are generated.",
        )
        acknowledge(
            self.backfill.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{raw.nag_name}/{settings.INCOMING_PREFIX}/*]",
            "s3:GetObject (HeadObject: the object's version) on the incoming folder the backfill lists; "
            "keys are not known.",
        )
        # CDK puts the Distributed Map's rights on its own executions into a separate policy.
        map_policy = self.backfill.node.find_child("DistributedMapPolicy")
        for suffix, what in ((":*", "executions"), ("/*:*", "map runs' executions")):
            acknowledge(
                map_policy,
                executions(self.backfill, suffix),
                f"The Distributed Map's child {what} of this one backfill workflow, named by Step Functions.",
            )
        publish_workflow(self, env=env, workflow="backfill", state_machine=self.backfill)
        CfnOutput(self, "NotificationsTopicArn", value=self.topic.topic_arn)


def _retention_name(days: int) -> str:
    names = {
        1: "ONE_DAY",
        3: "THREE_DAYS",
        5: "FIVE_DAYS",
        7: "ONE_WEEK",
        14: "TWO_WEEKS",
        30: "ONE_MONTH",
        60: "TWO_MONTHS",
        90: "THREE_MONTHS",
        120: "FOUR_MONTHS",
        150: "FIVE_MONTHS",
        180: "SIX_MONTHS",
        365: "ONE_YEAR",
        400: "THIRTEEN_MONTHS",
        545: "EIGHTEEN_MONTHS",
        731: "TWO_YEARS",
        1096: "THREE_YEARS",
        1827: "FIVE_YEARS",
        3653: "TEN_YEARS",
    }
    return names[days]
