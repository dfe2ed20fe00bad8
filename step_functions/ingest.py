"""The ingest workflow: one raw object version → curated Parquet, or quarantine with a report.

    Claim (ledger, conditional put) ─ duplicate ─────────────────────────────► AlreadyIngested
      │
    Which engine? ─ above the Spark limit ─► RecordRefused ► NotifyRefused ──► FileTooLarge (fail)
      │ ─ above the Lambda limit ─► ValidateWithSpark (Glue job, .sync: validates, curates or
      │                             quarantines) ─► ReadSparkVerdict ─► UseSparkVerdict ─► Passed by Spark?
      │                                                  yes ─► RecordCurated ...   no ─► RecordQuarantined ...
      │ within the Lambda limit
    Validate ─► Passed? ─ yes ─► Curate ─► RecordCurated ─► AnnounceCurated ──► Curated
                  │ no
                Quarantine ─► RecordQuarantined ─► NotifyRejected ─────────► DataValidationFailed (fail)

    Any task error ─► RecordFailed ─► NotifyFailure ────────────────────────► IngestFailed (fail)

The ledger (DynamoDB, keyed by bucket/key#version) makes a redelivered S3 event a no-op; an object
version whose run failed may be claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from step_functions import common
from step_functions.common import fmt

# Error names the workflow ends with (stable: alarms, the CLI and the docs rely on them).
DUPLICATE = "DynamoDB.ConditionalCheckFailedException"
DATA_VALIDATION_FAILED = "DataValidationFailed"
FILE_TOO_LARGE = "FileTooLarge"
INGEST_FAILED = "IngestFailed"

# Ledger statuses.
RUNNING, CURATED, QUARANTINED, REFUSED, FAILED = "RUNNING", "CURATED", "QUARANTINED", "REFUSED", "FAILED"


@dataclass(frozen=True)
class SparkRoute:
    """The Spark engine's Glue job, for objects above the Lambda limit (up to ``max_object_bytes``)."""

    job_name: str
    max_object_bytes: int
    results: s3.IBucket  # the job writes its verdict under RESULTS_PREFIX here, for the workflow to read
    timeout_minutes: int


RESULTS_PREFIX = "reports/_spark_results"


@dataclass(frozen=True)
class IngestFunctions:
    validate: lambda_.IFunction
    curate: lambda_.IFunction
    quarantine: lambda_.IFunction


def object_id() -> str:
    """The ledger key of the object version in the state input."""
    return fmt(
        "{}/{}#{}",
        sfn.JsonPath.string_at("$.bucket"),
        sfn.JsonPath.string_at("$.key"),
        sfn.JsonPath.string_at("$.version_id"),
    )


def build_ingest_definition(
    scope: Construct,
    *,
    functions: IngestFunctions,
    ledger: dynamodb.ITable,
    topic: sns.ITopic,
    max_object_bytes: int,
    spark: SparkRoute,
    environment: str,
    curated_event: tuple[str, str],
) -> sfn.IChainable:
    scope = Construct(scope, "IngestStates")  # state ids are the state names: keep them apart
    s = sfn.JsonPath.string_at
    key = {"object_id": tasks.DynamoAttributeValue.from_string(object_id())}

    def record(id: str, status: str, **extra: str) -> tasks.DynamoUpdateItem:
        names = {"#status": "status", "#updated": "updated_at"}
        values = {
            ":status": tasks.DynamoAttributeValue.from_string(status),
            ":updated": tasks.DynamoAttributeValue.from_string(s("$$.State.EnteredTime")),
        }
        sets = ["#status = :status", "#updated = :updated"]
        for attribute, path in extra.items():
            names[f"#{attribute}"] = attribute
            values[f":{attribute}"] = tasks.DynamoAttributeValue.from_string(s(path))
            sets.append(f"#{attribute} = :{attribute}")
        return tasks.DynamoUpdateItem(
            scope,
            id,
            table=ledger,
            key=key,
            update_expression="SET " + ", ".join(sets),
            expression_attribute_names=names,
            expression_attribute_values=values,
            result_path=sfn.JsonPath.DISCARD,
        )

    def notify(id: str, subject: str, message: str) -> tasks.SnsPublish:
        return common.notify(scope, id, topic=topic, subject=subject, message=message)

    def invoke(id: str, function: lambda_.IFunction, result_path: str) -> tasks.LambdaInvoke:
        return common.invoke(scope, id, function=function, result_path=result_path)

    # --- failure path (every task catches into it) ---
    failed = sfn.Fail(scope, INGEST_FAILED, error=INGEST_FAILED, cause_path="$.error.Cause")
    notify_failure = notify(
        "NotifyFailure",
        "SageLane ingest failed",
        fmt(
            "Ingest of s3://{}/{} (dataset {}) failed: {}: {}",
            s("$.bucket"),
            s("$.key"),
            s("$.dataset"),
            s("$.error.Error"),
            s("$.error.Cause"),
        ),
    )
    notify_failure.next(failed)
    record_failed = record("RecordFailed", FAILED, error="$.error.Error")
    record_failed.add_catch(notify_failure, errors=[sfn.Errors.ALL], result_path="$.ledger_error")
    record_failed.next(notify_failure)

    def guarded(task: sfn.TaskStateBase) -> sfn.TaskStateBase:
        task.add_catch(record_failed, errors=[sfn.Errors.ALL], result_path="$.error")
        return task

    # --- claim ---
    claim = tasks.DynamoPutItem(
        scope,
        "Claim",
        table=ledger,
        item={
            **key,
            "status": tasks.DynamoAttributeValue.from_string(RUNNING),
            "dataset": tasks.DynamoAttributeValue.from_string(s("$.dataset")),
            "execution": tasks.DynamoAttributeValue.from_string(s("$$.Execution.Id")),
            # $$.State.EnteredTime, not $$.Execution.StartTime: the same instant here, and an ISO string in
            # every interpreter (moto hands StartTime over as a datetime object).
            "started_at": tasks.DynamoAttributeValue.from_string(s("$$.State.EnteredTime")),
        },
        condition_expression="attribute_not_exists(object_id) OR #status = :failed",
        expression_attribute_names={"#status": "status"},
        expression_attribute_values={":failed": tasks.DynamoAttributeValue.from_string(FAILED)},
        result_path=sfn.JsonPath.DISCARD,
    )
    claim.add_catch(
        sfn.Succeed(scope, "AlreadyIngested", comment="the same object version was ingested before"),
        errors=[DUPLICATE],
        result_path=sfn.JsonPath.DISCARD,
    )
    claim.add_catch(notify_failure, errors=[sfn.Errors.ALL], result_path="$.error")

    # --- too large for the Lambda engine ---
    refused = (
        sfn.Chain.start(guarded(record("RecordRefused", REFUSED)))
        .next(
            guarded(
                notify(
                    "NotifyRefused",
                    "SageLane ingest refused a file",
                    fmt(
                        "s3://{}/{} (dataset {}) is {} bytes, above the limit of the Spark validation engine "
                        + f"({spark.max_object_bytes} bytes). The file is kept in the raw zone. Split it, or raise "
                        + "ingest.glue.max_object_gb in the environment config.",
                        s("$.bucket"),
                        s("$.key"),
                        s("$.dataset"),
                        s("$.size"),
                    ),
                )
            )
        )
        .next(
            sfn.Fail(
                scope,
                FILE_TOO_LARGE,
                error=FILE_TOO_LARGE,
                cause=f"object larger than the Spark engine's limit of {spark.max_object_bytes} bytes",
            )
        )
    )

    # --- validate → curate | quarantine ---
    validate = guarded(invoke("Validate", functions.validate, "$.validation"))
    curate = guarded(invoke("Curate", functions.curate, "$.curation"))
    quarantine = guarded(invoke("Quarantine", functions.quarantine, "$.quarantine"))
    source, detail_type = curated_event
    announce = tasks.EventBridgePutEvents(
        scope,
        "AnnounceCurated",
        entries=[
            tasks.EventBridgePutEventsEntry(
                source=source,
                detail_type=detail_type,
                detail=sfn.TaskInput.from_object(
                    {
                        "environment": environment,
                        "dataset": s("$.dataset"),
                        "curated_uri": s("$.curation.curated_uri"),
                        "rows": sfn.JsonPath.number_at("$.curation.rows"),
                        "source_uri": fmt("s3://{}/{}", s("$.bucket"), s("$.key")),
                    }
                ),
            )
        ],
        result_path=sfn.JsonPath.DISCARD,
    )
    record_curated = guarded(record("RecordCurated", CURATED, curated_uri="$.curation.curated_uri"))
    record_curated.next(guarded(announce)).next(sfn.Succeed(scope, "Curated"))
    curated = sfn.Chain.start(curate).next(record_curated)
    record_quarantined = guarded(record("RecordQuarantined", QUARANTINED, report="$.validation.report_html"))
    rejected = (
        sfn.Chain.start(quarantine)
        .next(record_quarantined)
        .next(
            guarded(
                notify(
                    "NotifyRejected",
                    "SageLane: a file was quarantined",
                    fmt(
                        "s3://{}/{} (dataset {}) was rejected: {} The file was copied to {} and its report is {}. "
                        "The original stays in the raw zone.",
                        s("$.bucket"),
                        s("$.key"),
                        s("$.dataset"),
                        s("$.validation.summary"),
                        s("$.quarantine.quarantine_uri"),
                        s("$.validation.report_html"),
                    ),
                )
            )
        )
        .next(sfn.Fail(scope, DATA_VALIDATION_FAILED, error=DATA_VALIDATION_FAILED, cause_path="$.validation.summary"))
    )
    verdict = (
        sfn.Choice(scope, "Passed?")
        .when(sfn.Condition.boolean_equals("$.validation.passed", True), curated)
        .otherwise(rejected)
    )

    # --- the Spark engine: one Glue run validates and curates or quarantines; its verdict drives the rest ---
    result_key = fmt(RESULTS_PREFIX + "/{}.json", s("$$.Execution.Name"))
    with_spark = guarded(
        tasks.GlueStartJobRun(
            scope,
            "ValidateWithSpark",
            glue_job_name=spark.job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            arguments=sfn.TaskInput.from_object(
                {
                    **{f"--{name}": s(f"$.{name}") for name in ("dataset", "bucket", "key", "event_time")},
                    "--version_id": s("$.version_id"),
                    "--etag": s("$.etag"),
                    "--size": sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.size")),
                    "--result_uri": fmt("s3://{}/{}", spark.results.bucket_name, result_key),
                }
            ),
            task_timeout=sfn.Timeout.duration(Duration.minutes(spark.timeout_minutes + 10)),
            result_path=sfn.JsonPath.DISCARD,
        )
    )
    read_verdict = guarded(
        tasks.CallAwsService(
            scope,
            "ReadSparkVerdict",
            service="s3",
            action="getObject",
            iam_action="s3:GetObject",
            parameters={"Bucket": spark.results.bucket_name, "Key": result_key},
            iam_resources=[spark.results.arn_for_objects(f"{RESULTS_PREFIX}/*")],
            result_selector={"document": sfn.JsonPath.string_to_json(s("$.Body"))},
            result_path="$.spark",
        )
    )
    # The Lambdas' result paths, so the Curated and rejected paths read them the same way.
    use_verdict = sfn.Pass(
        scope,
        "UseSparkVerdict",
        parameters={
            **{name: s(f"$.{name}") for name in ("dataset", "bucket", "key", "etag", "event_time")},
            "version_id": s("$.version_id"),
            "size": sfn.JsonPath.number_at("$.size"),
            "validation": sfn.JsonPath.object_at("$.spark.document.validation"),
            "curation": sfn.JsonPath.object_at("$.spark.document.curation"),
            "quarantine": sfn.JsonPath.object_at("$.spark.document.quarantine"),
        },
    )
    spark_verdict = (
        sfn.Choice(scope, "Passed by Spark?")
        .when(sfn.Condition.boolean_equals("$.validation.passed", True), record_curated)
        .otherwise(record_quarantined)
    )
    spark_path = sfn.Chain.start(with_spark).next(read_verdict).next(use_verdict).next(spark_verdict)

    size_check = (
        sfn.Choice(scope, "Which engine?")
        .when(sfn.Condition.number_greater_than("$.size", spark.max_object_bytes), refused)
        .when(sfn.Condition.number_greater_than("$.size", max_object_bytes), spark_path)
        .otherwise(sfn.Chain.start(validate).next(verdict))
    )
    return sfn.Chain.start(claim).next(size_check)
