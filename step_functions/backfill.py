"""The backfill workflow: every object under a prefix of the raw zone through the ingest workflow.

    IngestEach (Distributed Map over s3:listObjectsV2 of the prefix, at most N at once)
      └─ per object: Version (s3:headObject) ─► Ingest (the ingest workflow, startExecution.sync:2)
                        ├─ curated ──────────► Ingested          {key, outcome: "ingested"}
                        ├─ ingested before ──► AlreadyIngested   {key, outcome: "already_ingested"}
                        └─ failed ───────────► NotIngested       {key, outcome: "<the run's error>"}
      (results written to S3 by the map's ResultWriter: <results>/backfill/<map run>/, never into the
       state, which holds 256 KiB — about a thousand files' results)
    Summarize (Lambda: reads the results, counts per outcome, the failures) ─► Done

Each object is one ordinary ingest run (same ledger, same engines, same notifications), so a backfill
that is run again skips what was ingested (``AlreadyIngested``) and retries what failed. One object
failing never stops the others (tolerated failure 100 %).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sagelane import settings
from step_functions import common

BACKFILL_RESULTS_PREFIX = "backfill"  # in the results bucket: backfill/<map run id>/manifest.json, SUCCEEDED_0.json


class PrefixResultWriter(sfn.ResultWriterV2):
    """CDK's ResultWriterV2, granting what the writer needs on its prefix only (CDK grants on every object
    of the bucket — in the curated zone, the training data)."""

    def __init__(self, *, bucket: s3.IBucket, prefix: str) -> None:
        super().__init__(bucket=bucket, prefix=prefix)
        self._objects = bucket.arn_for_objects(f"{prefix}*")

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                resources=[self._objects],
            )
        ]


def build_backfill_definition(
    scope: Construct,
    *,
    raw: s3.IBucket,
    ingest: sfn.IStateMachine,
    summarize: lambda_.IFunction,
    results: s3.IBucket,
    max_concurrency: int,
) -> sfn.IChainable:
    scope = Construct(scope, "BackfillStates")
    s = sfn.JsonPath.string_at
    version = tasks.CallAwsService(
        scope,
        "Version",
        service="s3",
        action="headObject",
        # HeadObject is authorised by s3:GetObject; CDK's default (s3:headObject) is no IAM action at all.
        iam_action="s3:GetObject",
        parameters={"Bucket": raw.bucket_name, "Key": s("$.key")},
        iam_resources=[raw.arn_for_objects(f"{settings.INCOMING_PREFIX}/*")],
        result_selector={"version_id": s("$.VersionId")},
        result_path="$.head",
    )
    run = tasks.StepFunctionsStartExecution(
        scope,
        "Ingest",
        state_machine=ingest,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        input=sfn.TaskInput.from_object(
            {
                "dataset": s("$.dataset"),
                "bucket": raw.bucket_name,
                "key": s("$.key"),
                "version_id": s("$.head.version_id"),
                "etag": s("$.etag"),
                "size": sfn.JsonPath.number_at("$.size"),
                "event_time": s("$.event_time"),
            }
        ),
        result_selector={"output": sfn.JsonPath.object_at("$.Output")},
        result_path="$.run",
    )
    ingested = sfn.Pass(scope, "Ingested", parameters={"key": s("$.key"), "outcome": "ingested"})
    skipped = sfn.Pass(scope, "AlreadyIngested", parameters={"key": s("$.key"), "outcome": "already_ingested"})
    curated_now = (
        sfn.Choice(scope, "Curated now?")
        .when(sfn.Condition.is_present("$.run.output.curation"), ingested)
        .otherwise(skipped)
    )
    not_ingested = sfn.Pass(
        scope,
        "NotIngested",
        parameters={"key": s("$.key"), "outcome": s("$.failure.Error"), "cause": s("$.failure.Cause")},
    )
    for task in (version, run):
        task.add_catch(not_ingested, errors=[sfn.Errors.ALL], result_path="$.failure")
    each = sfn.DistributedMap(
        scope,
        "IngestEach",
        item_reader=sfn.S3ObjectsItemReader(bucket=raw, prefix=s("$.prefix")),
        item_selector={
            "dataset": s("$.dataset"),
            "key": s("$$.Map.Item.Value.Key"),
            "etag": s("$$.Map.Item.Value.ETag"),
            "size": sfn.JsonPath.number_at("$$.Map.Item.Value.Size"),
            "event_time": s("$$.State.EnteredTime"),  # the backfill's time: files land in today's partition
        },
        max_concurrency=max_concurrency,
        tolerated_failure_percentage=100,
        result_writer_v2=PrefixResultWriter(bucket=results, prefix=f"{BACKFILL_RESULTS_PREFIX}/"),
        result_path="$.results",  # {MapRunArn, ResultWriterDetails: {Bucket, Key (the manifest)}}
    )
    each.item_processor(sfn.Chain.start(version).next(run).next(curated_now))
    summary = common.invoke(scope, "Summarize", function=summarize, result_path="$.summary")
    done = sfn.Pass(
        scope,
        "Done",
        parameters={"dataset": s("$.dataset"), "prefix": s("$.prefix"), "summary": sfn.JsonPath.object_at("$.summary")},
    )
    return sfn.Chain.start(each).next(summary).next(done)
