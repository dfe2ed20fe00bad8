"""The train workflow: one run per model at a time; a burst of triggers yields one training.

    Acquire (lock per model) ─ held ─► MarkPending (pending_at) ───────────────────► Coalesced
      │
    Gather (wait: a burst lands) ─► DataCutoff ─► Prepare ─► Train (createTrainingJob.sync) ─► Evaluate
      ─► Accepted? ─ yes ─► Register ─► NotifyAwaitingApproval ─┐
                   └ no ─► NotifyNotRegistered ─────────────────┤
    any task error ─► NotifyTrainingFailure ────────────────────┤
                                                                 ▼
                       Release (lock) ─► Pending? ─ yes ─► RetrainPending (start this workflow again)
                                                      ─► Registered | CandidateRejected | TrainingFailed

Triggers that arrive while a run holds the lock record ``pending_at``; if one came after the run read its
data (``data_cutoff``), the run starts one more training when it releases, so nothing curated in between
is left out — and a burst within the Gather wait yields exactly one training.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from step_functions import common
from step_functions.common import fmt

TRAINING_FAILED = "TrainingFailed"
CANDIDATE_REJECTED = "CandidateRejected"


@dataclass(frozen=True)
class TrainFunctions:
    prepare: lambda_.IFunction
    evaluate: lambda_.IFunction
    register: lambda_.IFunction


def build_train_definition(
    scope: Construct,
    *,
    functions: TrainFunctions,
    locks: dynamodb.ITable,
    topic: sns.ITopic,
    training_role_arn: str,
    output_kms_key_arn: str,
    coalesce_seconds: int,
) -> sfn.IChainable:
    scope = Construct(scope, "TrainStates")
    s = sfn.JsonPath.string_at
    lock_key = {"model": tasks.DynamoAttributeValue.from_string(s("$.model"))}

    def invoke(id: str, function: lambda_.IFunction, payload: dict, result_path: str) -> tasks.LambdaInvoke:
        return common.invoke(scope, id, function=function, payload=payload, result_path=result_path)

    def notify(id: str, subject: str, message: str) -> tasks.SnsPublish:
        return common.notify(scope, id, topic=topic, subject=subject, message=message)

    def outcome(id: str, value: str) -> sfn.Pass:
        return sfn.Pass(scope, id, result=sfn.Result.from_string(value), result_path="$.outcome")

    # --- release and the end states (shared by every path) ---
    registered = sfn.Succeed(scope, "Registered")
    rejected = sfn.Fail(scope, CANDIDATE_REJECTED, error=CANDIDATE_REJECTED, cause_path="$.evaluation.reason")
    failed = sfn.Fail(scope, TRAINING_FAILED, error=TRAINING_FAILED, cause_path="$.error.Cause")
    finish = (
        sfn.Choice(scope, "Outcome?")
        .when(sfn.Condition.string_equals("$.outcome", "registered"), registered)
        .when(sfn.Condition.string_equals("$.outcome", "rejected"), rejected)
        .otherwise(failed)
    )
    retrain = sfn.CustomState(
        scope,
        "RetrainPending",
        state_json={
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            # itself: the triggers that arrived during this run get their training
            "Parameters": {
                "StateMachineArn.$": "$$.StateMachine.Id",
                "Input": {"model.$": "$.model", "trigger": "coalesced"},
            },
            # (a CustomState drops a null ResultPath: keep the answer aside instead of discarding it)
            "ResultPath": "$.retrain",
        },
    )
    retrain.add_catch(finish, errors=[sfn.Errors.ALL], result_path="$.retrain_error")
    retrain.next(finish)
    release = tasks.DynamoDeleteItem(
        scope,
        "Release",
        table=locks,
        key=lock_key,
        return_values=tasks.DynamoReturnValues.ALL_OLD,
        result_path="$.lock",
    )
    release.add_catch(finish, errors=[sfn.Errors.ALL], result_path="$.release_error")
    # Retrain only for triggers that came after this run read its data (earlier ones are in it).
    release.next(
        sfn.Choice(scope, "Pending?")
        .when(
            sfn.Condition.and_(
                sfn.Condition.is_present("$.lock.Attributes.pending_at.S"),
                sfn.Condition.is_present("$.data_cutoff"),
                sfn.Condition.timestamp_greater_than_json_path("$.lock.Attributes.pending_at.S", "$.data_cutoff"),
            ),
            retrain,
        )
        .when(
            sfn.Condition.and_(
                sfn.Condition.is_present("$.lock.Attributes.pending_at.S"),
                sfn.Condition.is_not_present("$.data_cutoff"),
            ),
            retrain,
        )
        .otherwise(finish)
    )

    # --- failure path ---
    notify_failure = notify(
        "NotifyTrainingFailure",
        "SageLane training failed",
        fmt("Training of model {} failed: {}: {}", s("$.model"), s("$.error.Error"), s("$.error.Cause")),
    )
    notify_failure.add_catch(
        outcome("FailedAnyway", "failed").next(release), errors=[sfn.Errors.ALL], result_path="$.notify_error"
    )
    notify_failure.next(outcome("Failed", "failed")).next(release)

    def guarded(task: sfn.TaskStateBase) -> sfn.TaskStateBase:
        task.add_catch(notify_failure, errors=[sfn.Errors.ALL], result_path="$.error")
        return task

    # --- acquire, or coalesce into the running training ---
    coalesced = tasks.DynamoUpdateItem(
        scope,
        "MarkPending",
        table=locks,
        key=lock_key,
        update_expression="SET pending_at = :now",
        expression_attribute_values={":now": tasks.DynamoAttributeValue.from_string(s("$$.State.EnteredTime"))},
        result_path=sfn.JsonPath.DISCARD,
    )
    coalesced.next(sfn.Succeed(scope, "Coalesced", comment="a training of this model is running: it will run again"))
    lock_failed = sfn.Fail(scope, "LockFailed", error=TRAINING_FAILED, cause="the training lock could not be taken")
    notify_lock_failure = notify(
        "NotifyLockFailure",
        "SageLane training failed",
        fmt("Training of model {} could not start: {}", s("$.model"), s("$.error.Cause")),
    )
    notify_lock_failure.add_catch(lock_failed, errors=[sfn.Errors.ALL], result_path="$.notify_error")
    notify_lock_failure.next(lock_failed)
    coalesced.add_catch(notify_lock_failure, errors=[sfn.Errors.ALL], result_path="$.error")
    acquire = tasks.DynamoPutItem(
        scope,
        "Acquire",
        table=locks,
        item={
            **lock_key,
            "execution": tasks.DynamoAttributeValue.from_string(s("$$.Execution.Id")),
            "started_at": tasks.DynamoAttributeValue.from_string(s("$$.State.EnteredTime")),
        },
        condition_expression="attribute_not_exists(model)",
        result_path=sfn.JsonPath.DISCARD,
    )
    acquire.add_catch(coalesced, errors=["DynamoDB.ConditionalCheckFailedException"], result_path=sfn.JsonPath.DISCARD)
    acquire.add_catch(notify_lock_failure, errors=[sfn.Errors.ALL], result_path="$.error")

    # --- the run ---
    prepare = guarded(
        invoke(
            "Prepare",
            functions.prepare,
            {
                "model": s("$.model"),
                "trigger": s("$.trigger"),
                "execution_input": sfn.JsonPath.object_at("$$.Execution.Input"),
            },
            "$.prepared",
        )
    )
    train = _training_job(scope, training_role_arn, output_kms_key_arn)
    guarded(train)
    evaluate = guarded(
        invoke(
            "Evaluate",
            functions.evaluate,
            {"model": s("$.model"), "prepared": sfn.JsonPath.object_at("$.prepared")},
            "$.evaluation",
        )
    )
    register = guarded(
        invoke(
            "Register",
            functions.register,
            {
                "model": s("$.model"),
                "prepared": sfn.JsonPath.object_at("$.prepared"),
                "evaluation": sfn.JsonPath.object_at("$.evaluation"),
                "training": sfn.JsonPath.object_at("$.training"),
            },
            "$.registered",
        )
    )
    awaiting = guarded(
        notify(
            "NotifyAwaitingApproval",
            "SageLane: a model version awaits approval",
            fmt(
                "Model {} version {} is registered as {}: {}. Approve it with: sagelane models approve {} {}",
                s("$.model"),
                s("$.registered.version"),
                s("$.registered.status"),
                s("$.evaluation.reason"),
                s("$.model"),
                s("$.registered.version"),
            ),
        )
    )
    not_registered = guarded(
        notify(
            "NotifyNotRegistered",
            "SageLane: a candidate model was not registered",
            fmt(
                "Model {}: the candidate from run {} was not registered: {}",
                s("$.model"),
                s("$.prepared.run_id"),
                s("$.evaluation.reason"),
            ),
        )
    )
    accepted = (
        sfn.Choice(scope, "Accepted?")
        .when(
            sfn.Condition.boolean_equals("$.evaluation.accepted", True),
            sfn.Chain.start(register).next(awaiting).next(outcome("RegisteredOutcome", "registered")).next(release),
        )
        .otherwise(sfn.Chain.start(not_registered).next(outcome("RejectedOutcome", "rejected")).next(release))
    )
    gather = sfn.Wait(scope, "Gather", time=sfn.WaitTime.duration(Duration.seconds(coalesce_seconds)))
    # The instant this run reads its data: later triggers need a run of their own.
    cutoff = sfn.Pass(scope, "DataCutoff", parameters={"at.$": "$$.State.EnteredTime"}, result_path="$.cutoff")
    cutoff_flat = sfn.Pass(scope, "DataCutoffTime", input_path="$.cutoff.at", result_path="$.data_cutoff")
    return (
        sfn.Chain.start(acquire)
        .next(gather)
        .next(cutoff)
        .next(cutoff_flat)
        .next(prepare)
        .next(train)
        .next(evaluate)
        .next(accepted)
    )


def _training_job(scope: Construct, role_arn: str, kms_key_arn: str) -> sfn.CustomState:
    """``createTrainingJob.sync``; the request's varying parts come from Prepare."""
    state = sfn.CustomState(
        scope,
        "Train",
        state_json={
            "Type": "Task",
            "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
            "Parameters": {
                "TrainingJobName.$": "$.prepared.training_job_name",
                "RoleArn": role_arn,
                "AlgorithmSpecification": {"TrainingImage.$": "$.prepared.job.image", "TrainingInputMode": "File"},
                "HyperParameters.$": "$.prepared.job.hyperparameters",
                "InputDataConfig.$": "$.prepared.job.input_data_config",
                "OutputDataConfig": {"S3OutputPath.$": "$.prepared.output_path", "KmsKeyId": kms_key_arn},
                "ResourceConfig.$": "$.prepared.job.resource_config",
                "StoppingCondition.$": "$.prepared.job.stopping_condition",
                "EnableManagedSpotTraining.$": "$.prepared.job.spot",
                "EnableInterContainerTrafficEncryption": True,
                "Tags": [{"Key": "sagelane:model", "Value.$": "$.model"}],
            },
            "ResultSelector": {
                "TrainingJobName.$": "$.TrainingJobName",
                "TrainingJobStatus.$": "$.TrainingJobStatus",
                "ModelArtifacts.$": "$.ModelArtifacts",
            },
            "ResultPath": "$.training",
        },
    )
    common.retry_transient(state, "sagemaker", capacity=True)
    return state
