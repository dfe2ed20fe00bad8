"""The ingest workflow: one raw object version → curated Parquet, or quarantine with a report.

    Claim (ledger, conditional put) ─ duplicate ─────────────────────────────► AlreadyIngested
      │
    Size within the Lambda limit? ─ no ─► RecordRefused ► NotifyRefused ────► FileTooLarge (fail)
      │ yes
    Validate ─► Passed? ─ yes ─► Curate ─► RecordCurated ─► AnnounceCurated ──► Curated
                  │ no
                Quarantine ─► RecordQuarantined ─► NotifyRejected ─────────► DataValidationFailed (fail)

    Any task error ─► RecordFailed ─► NotifyFailure ────────────────────────► IngestFailed (fail)

The ledger (DynamoDB, keyed by bucket/key#version) makes a redelivered S3 event a no-op; an object
version whose run failed may be claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
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
                        "s3://{}/{} (dataset {}) is {} bytes, above the limit of the Lambda validation engine "
                        + f"({max_object_bytes} bytes). The file is kept in the raw zone. Split it, or raise "
                        + "ingest.lambda_max_object_mb in the environment config.",
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
                cause=f"object larger than the Lambda engine's limit of {max_object_bytes} bytes",
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
    curated = (
        sfn.Chain.start(curate)
        .next(guarded(record("RecordCurated", CURATED, curated_uri="$.curation.curated_uri")))
        .next(guarded(announce))
        .next(sfn.Succeed(scope, "Curated"))
    )
    rejected = (
        sfn.Chain.start(quarantine)
        .next(guarded(record("RecordQuarantined", QUARANTINED, report="$.validation.report_html")))
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
    size_check = (
        sfn.Choice(scope, "Within the Lambda limit?")
        .when(sfn.Condition.number_greater_than("$.size", max_object_bytes), refused)
        .otherwise(sfn.Chain.start(validate).next(verdict))
    )
    return sfn.Chain.start(claim).next(size_check)
