"""The deploy workflow: an approval (or a rejection of the live version) changes what the endpoint serves.

    Request ─► Plan ─► Action? ─ skip ─────────────────────────────────────────────► NothingToDeploy
                         ├ nothing_to_roll_back_to ─► NotifyNoRollback ──────────────► NoVersionToRollBackTo
                         └ deploy ─► Model? ─► Settings-<model> ─► CreateModel-<model> (from the package;
        serverless: the kit's capture in its environment) ─► EndpointConfig-<model> (serverless | instance,
        KMS, SageMaker data capture) ─► EndpointExists?
             ├ no ─► CreateEndpoint ───────────────────────────────────┐
             └ yes ─► DescribeBeforeUpdate ◄─► WaitForIdle             │
                       └► UpdateEndpoint (blue/green, auto-rollback on the endpoint alarms)
                                                                       ▼
        DescribeEndpoint ◄─► WaitForEndpoint ─► Settled? ─ InService on the new config ─► SmokeTest
          └ Failed / rolled back by SageMaker ─► NotifyDeployFailed ─► DeployFailed
        SmokeTest ─ fails ─► RollBack to the previous config (or delete a new endpoint) ─► SmokeTestFailed
          └► Autoscaled? ─► RegisterScalableTarget ─► PutScalingPolicy ─► Record ─► NotifyDeployed ─► Deployed

The SageMaker and Application Auto Scaling calls are AWS SDK tasks with the whole request in the
definition, so what a model's endpoint looks like is reviewable (and asserted) in the template. Any
failure before the endpoint switches leaves the previous version serving; SageMaker's own blue/green
rollback (alarms while baking) and the smoke test cover failures after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sagelane.config import ModelConfig, has_instance_storage
from sagelane.serving.deploy import BUSY, LIVE_VARIANT
from step_functions import common
from step_functions.common import fmt

DEPLOY_FAILED = "DeployFailed"
SMOKE_TEST_FAILED = "SmokeTestFailed"


@dataclass(frozen=True)
class ServedModel:
    """What synth knows of one model's endpoint."""

    model: ModelConfig
    alarm_names: list[str]
    kms_key_arn: str
    capture_uri: str  # s3://<artifacts>/capture/<model>
    endpoint: str


def endpoint_config_parameters(served: ServedModel) -> dict[str, Any]:
    """CreateEndpointConfig for ``served``; the Model and config names come from the plan."""
    serving = served.model.serving
    variant: dict[str, Any] = {"VariantName": LIVE_VARIANT, "ModelName.$": "$.plan.model_name"}
    if serving.mode == "serverless":
        config: dict[str, Any] = {"MemorySizeInMB": serving.memory_mb, "MaxConcurrency": serving.max_concurrency}
        if serving.provisioned_concurrency:
            config["ProvisionedConcurrency"] = serving.provisioned_concurrency
        variant["ServerlessConfig"] = config
    else:
        variant.update(
            InstanceType=serving.instance_type, InitialInstanceCount=serving.instance_count, InitialVariantWeight=1
        )
    parameters: dict[str, Any] = {
        "EndpointConfigName.$": "$.plan.endpoint_config",
        "ProductionVariants": [variant],
        "Tags": [{"Key": "sagelane:model", "Value": served.model.name}],
    }
    # Instances with local NVMe storage encrypt it in hardware and refuse a KMS key.
    if serving.mode == "serverless" or not has_instance_storage(serving.instance_type):
        parameters["KmsKeyId"] = served.kms_key_arn
    if serving.mode == "instance" and serving.data_capture_percent:
        parameters["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": serving.data_capture_percent,
            "DestinationS3Uri": served.capture_uri,
            "KmsKeyId": served.kms_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"], "CsvContentTypes": ["text/csv"]},
        }
    return parameters


def model_parameters(served: ServedModel, role_arn: str) -> dict[str, Any]:
    """CreateModel from the approved package. A serverless endpoint gets the kit's own capture through
    the container's environment (SageMaker's data capture does not cover serverless endpoints)."""
    container: dict[str, Any] = {"ModelPackageName.$": "$.plan.package_arn"}
    serving = served.model.serving
    if serving.mode == "serverless" and serving.data_capture_percent:
        container["Environment"] = {
            "SAGELANE_CAPTURE_S3_URI": f"{served.capture_uri}/{served.endpoint}/{LIVE_VARIANT}",
            "SAGELANE_CAPTURE_PERCENT": str(serving.data_capture_percent),
            "SAGELANE_CAPTURE_KMS_KEY": served.kms_key_arn,
        }
    return {
        "ModelName.$": "$.plan.model_name",
        "ExecutionRoleArn": role_arn,
        "PrimaryContainer": container,
        "Tags": [{"Key": "sagelane:model", "Value": served.model.name}],
    }


def deployment_config(served: ServedModel) -> dict[str, Any]:
    """Blue/green with SageMaker's auto-rollback on the endpoint alarms while the new fleet bakes.

    Instance fleets of two or more shift a canary first; a single instance (which cannot split) and
    serverless endpoints shift all at once and bake.
    """
    serving = served.model.serving
    bake = serving.bake_seconds
    if serving.mode == "instance" and serving.instance_count >= 2:
        routing = {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": serving.canary_percent},
            "WaitIntervalInSeconds": bake,
        }
    else:
        routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": bake,
            "MaximumExecutionTimeoutInSeconds": min(28_800, max(600, 3 * bake + 1800)),
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in served.alarm_names]},
    }


def settings(served: ServedModel) -> dict[str, Any]:
    serving = served.model.serving
    result: dict[str, Any] = {"poll_seconds": serving.poll_seconds, "deployment": deployment_config(served)}
    if serving.mode == "instance":
        result["autoscaling"] = {
            "min": serving.instance_count,
            "max": serving.autoscaling_max,
            "target": float(serving.target_invocations_per_instance),
        }
    return result


def build_deploy_definition(
    scope: Construct,
    *,
    plan: lambda_.IFunction,
    smoke_test: lambda_.IFunction,
    deployments: dynamodb.ITable,
    topic: sns.ITopic,
    serving_role_arn: str,
    models: list[ServedModel],
) -> sfn.IChainable:
    scope = Construct(scope, "DeployStates")
    s = sfn.JsonPath.string_at

    def sdk(
        id: str,
        service: str,
        action: str,
        parameters: dict[str, Any],
        *,
        result_path: str = "$.response",
        result_selector: dict[str, Any] | None = None,
    ) -> sfn.CustomState:
        state_json: dict[str, Any] = {
            "Type": "Task",
            "Resource": f"arn:aws:states:::aws-sdk:{service}:{action}",
            "Parameters": parameters,
            "ResultPath": result_path,  # not null: CustomState would drop it (and keep only the response)
        }
        if result_selector:
            state_json["ResultSelector"] = result_selector
        state = sfn.CustomState(scope, id, state_json=state_json)
        common.retry_transient(state, service)
        return state

    def notify(id: str, subject: str, message: str) -> tasks.SnsPublish:
        return common.notify(scope, id, topic=topic, subject=subject, message=message)

    def wait(id: str) -> sfn.Wait:
        return sfn.Wait(scope, id, time=sfn.WaitTime.seconds_path("$.serving.poll_seconds"))

    endpoint = {"EndpointName.$": "$.plan.endpoint"}
    busy = sfn.Condition.or_(*(sfn.Condition.string_equals("$.endpoint.status", status) for status in BUSY))

    # --- failure: nothing switched, the previous version keeps serving ---
    deploy_failed = notify(
        "NotifyDeployFailed",
        "SageLane: a deployment failed",
        fmt(
            "Deploy of model {} version {} to endpoint {} failed: {}: {}. The endpoint keeps serving version {} "
            "(0: none).",
            s("$.plan.model"),
            s("$.plan.version"),
            s("$.plan.endpoint"),
            s("$.error.Error"),
            s("$.error.Cause"),
            s("$.plan.live_version"),
        ),
    )
    deploy_failed.next(sfn.Fail(scope, DEPLOY_FAILED, error=DEPLOY_FAILED, cause_path="$.error.Cause"))

    def guarded(state: sfn.CustomState | sfn.TaskStateBase) -> Any:
        state.add_catch(deploy_failed, errors=[sfn.Errors.ALL], result_path="$.error")
        return state

    # --- the smoke test failed: back to what served before ---
    smoke_failed_end = sfn.Fail(scope, SMOKE_TEST_FAILED, error=SMOKE_TEST_FAILED, cause_path="$.error.Cause")
    rolled_back = notify(
        "NotifyRolledBack",
        "SageLane: a deployment failed its smoke test and was rolled back",
        fmt(
            "Model {} version {} failed its smoke test on endpoint {}: {}. The endpoint is rolled back to version {} "
            "(config {}).",
            s("$.plan.model"),
            s("$.plan.version"),
            s("$.plan.endpoint"),
            s("$.error.Cause"),
            s("$.plan.live_version"),
            s("$.plan.previous_endpoint_config"),
        ),
    )
    rolled_back.next(smoke_failed_end)
    roll_back = sdk(
        "RollBack",
        "sagemaker",
        "updateEndpoint",
        {**endpoint, "EndpointConfigName.$": "$.plan.previous_endpoint_config"},
    )
    roll_back.add_catch(rolled_back, errors=[sfn.Errors.ALL], result_path="$.rollback_error")
    roll_back.next(rolled_back)
    removed = notify(
        "NotifyNewEndpointRemoved",
        "SageLane: a deployment failed its smoke test",
        fmt(
            "Model {} version {} failed its smoke test on the new endpoint {}: {}. The endpoint was deleted.",
            s("$.plan.model"),
            s("$.plan.version"),
            s("$.plan.endpoint"),
            s("$.error.Cause"),
        ),
    )
    removed.next(smoke_failed_end)
    delete = sdk("DeleteNewEndpoint", "sagemaker", "deleteEndpoint", endpoint)
    delete.add_catch(removed, errors=[sfn.Errors.ALL], result_path="$.delete_error")
    delete.next(removed)
    smoke_failed = (
        sfn.Choice(scope, "HadPrevious?")
        .when(sfn.Condition.boolean_equals("$.plan.exists", True), roll_back)
        .otherwise(delete)
    )

    # --- success: autoscaling, record, notify ---
    deployed = notify(
        "NotifyDeployed",
        "SageLane: a model version is live",
        fmt(
            "Model {} version {} is live on endpoint {} ({}). Smoke test answered in {} s.",
            s("$.plan.model"),
            s("$.plan.version"),
            s("$.plan.endpoint"),
            s("$.plan.reason"),
            s("$.smoke.seconds"),
        ),
    )
    deployed.next(sfn.Succeed(scope, "Deployed"))
    n = tasks.DynamoAttributeValue
    record = guarded(
        tasks.DynamoUpdateItem(
            scope,
            "Record",
            table=deployments,
            key={"model": n.from_string(s("$.plan.model"))},
            update_expression="SET #version = :version, package_arn = :package, endpoint_config = :config, "
            "model_name = :model_name, deployed_at = :at, deployed_by = :execution, previous_version = :previous, "
            "reason = :reason",
            expression_attribute_names={"#version": "version"},
            expression_attribute_values={
                ":version": n.number_from_string(sfn.JsonPath.format("{}", s("$.plan.version"))),
                ":package": n.from_string(s("$.plan.package_arn")),
                ":config": n.from_string(s("$.plan.endpoint_config")),
                ":model_name": n.from_string(s("$.plan.model_name")),
                ":at": n.from_string(s("$$.State.EnteredTime")),
                ":execution": n.from_string(s("$$.Execution.Id")),
                ":previous": n.number_from_string(sfn.JsonPath.format("{}", s("$.plan.live_version"))),
                ":reason": n.from_string(s("$.plan.reason")),
            },
            result_path=sfn.JsonPath.DISCARD,
        )
    )
    record.next(deployed)
    autoscaling_failed = notify(
        "NotifyAutoscalingFailed",
        "SageLane: endpoint autoscaling could not be set",
        fmt(
            "Model {} version {} is serving on {}, but its autoscaling could not be set: {}: {}",
            s("$.plan.model"),
            s("$.plan.version"),
            s("$.plan.endpoint"),
            s("$.autoscaling_error.Error"),
            s("$.autoscaling_error.Cause"),
        ),
    )
    autoscaling_failed.next(record)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId.$": fmt(f"endpoint/{{}}/variant/{LIVE_VARIANT}", s("$.plan.endpoint")),
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    register_target = sdk(
        "RegisterScalableTarget",
        "applicationautoscaling",
        "registerScalableTarget",
        {**target, "MinCapacity.$": "$.serving.autoscaling.min", "MaxCapacity.$": "$.serving.autoscaling.max"},
    )
    scaling_policy = sdk(
        "PutScalingPolicy",
        "applicationautoscaling",
        "putScalingPolicy",
        {
            **target,
            "PolicyName.$": fmt("{}-invocations-per-instance", s("$.plan.endpoint")),
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue.$": "$.serving.autoscaling.target",
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                "ScaleOutCooldown": 60,
                "ScaleInCooldown": 300,
            },
        },
    )
    for state in (register_target, scaling_policy):
        state.add_catch(autoscaling_failed, errors=[sfn.Errors.ALL], result_path="$.autoscaling_error")
    register_target.next(scaling_policy)
    scaling_policy.next(record)
    autoscaled = (
        sfn.Choice(scope, "Autoscaled?")
        .when(sfn.Condition.is_present("$.serving.autoscaling"), register_target)
        .otherwise(record)
    )
    smoke = common.invoke(
        scope,
        "SmokeTest",
        function=smoke_test,
        payload={"model": s("$.plan.model"), "endpoint": s("$.plan.endpoint")},
        result_path="$.smoke",
    )
    smoke.add_catch(smoke_failed, errors=[sfn.Errors.ALL], result_path="$.error")
    smoke.next(autoscaled)

    # --- switching the endpoint, and waiting until it settles ---
    describe = guarded(
        sdk(
            "DescribeEndpoint",
            "sagemaker",
            "describeEndpoint",
            endpoint,
            result_path="$.endpoint",
            result_selector={"status.$": "$.EndpointStatus", "config.$": "$.EndpointConfigName"},
        )
    )
    not_updated = sfn.Pass(
        scope,
        "EndpointNotUpdated",
        parameters={
            "Error": "EndpointNotUpdated",
            "Cause": fmt(  # a JsonPath value: CDK writes the key as "Cause.$" itself
                "endpoint {} is {} on config {} instead of {} (SageMaker rolled the update back or it failed: see "
                "the endpoint FailureReason)",
                s("$.plan.endpoint"),
                s("$.endpoint.status"),
                s("$.endpoint.config"),
                s("$.plan.endpoint_config"),
            ),
        },
        result_path="$.error",
    )
    not_updated.next(deploy_failed)
    describe.next(
        sfn.Choice(scope, "Settled?")
        .when(
            sfn.Condition.and_(
                sfn.Condition.string_equals("$.endpoint.status", "InService"),
                sfn.Condition.string_equals_json_path("$.endpoint.config", "$.plan.endpoint_config"),
            ),
            smoke,
        )
        .when(busy, wait("WaitForEndpoint").next(describe))
        .otherwise(not_updated)
    )
    create_endpoint = guarded(
        sdk(
            "CreateEndpoint",
            "sagemaker",
            "createEndpoint",
            {
                **endpoint,
                "EndpointConfigName.$": "$.plan.endpoint_config",
                "Tags": [{"Key": "sagelane:model", "Value.$": "$.plan.model"}],
            },
        )
    )
    create_endpoint.next(describe)
    update_endpoint = guarded(
        sdk(
            "UpdateEndpoint",
            "sagemaker",
            "updateEndpoint",
            {
                **endpoint,
                "EndpointConfigName.$": "$.plan.endpoint_config",
                "DeploymentConfig.$": "$.serving.deployment",
                # keep a scaled-out variant's instance count (autoscaling's) across deploys; the new
                # config's data capture settings apply
                "RetainAllVariantProperties": True,
                "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DataCaptureConfig"}],
            },
        )
    )
    update_endpoint.next(describe)
    # One change at a time: an endpoint being created or updated refuses another update.
    describe_idle = guarded(
        sdk(
            "DescribeBeforeUpdate",
            "sagemaker",
            "describeEndpoint",
            endpoint,
            result_path="$.endpoint",
            result_selector={"status.$": "$.EndpointStatus"},
        )
    )
    describe_idle.next(
        sfn.Choice(scope, "Idle?").when(busy, wait("WaitForIdle").next(describe_idle)).otherwise(update_endpoint)
    )
    switch = (
        sfn.Choice(scope, "EndpointExists?")
        .when(sfn.Condition.boolean_equals("$.plan.exists", True), describe_idle)
        .otherwise(create_endpoint)
    )

    # --- per model: its settings, a Model from the package, the model's own endpoint config ---
    which = sfn.Choice(scope, "Model?")
    for served in models:
        name = served.model.name
        create_model = guarded(
            sdk(f"CreateModel-{name}", "sagemaker", "createModel", model_parameters(served, serving_role_arn))
        )
        config = guarded(
            sdk(f"EndpointConfig-{name}", "sagemaker", "createEndpointConfig", endpoint_config_parameters(served))
        )
        create_model.next(config)
        config.next(switch)
        which.when(
            sfn.Condition.string_equals("$.plan.model", name),
            sfn.Pass(
                scope, f"Settings-{name}", result=sfn.Result.from_object(settings(served)), result_path="$.serving"
            ).next(create_model),
        )
    which.otherwise(sfn.Fail(scope, "NotServedHere", error=DEPLOY_FAILED, cause="this model has no endpoint here"))

    # --- plan ---
    no_rollback = notify(
        "NotifyNoRollback",
        "SageLane: a rejected version is still serving",
        fmt("Model {}: {}", s("$.plan.model"), s("$.plan.reason")),
    )
    no_rollback.next(
        sfn.Fail(scope, "NoVersionToRollBackTo", error="NoVersionToRollBackTo", cause_path="$.plan.reason")
    )
    action = (
        sfn.Choice(scope, "Action?")
        .when(sfn.Condition.string_equals("$.plan.action", "deploy"), which)
        .when(sfn.Condition.string_equals("$.plan.action", "nothing_to_roll_back_to"), no_rollback)
        .otherwise(sfn.Succeed(scope, "NothingToDeploy", comment="already live, superseded or not approved"))
    )
    plan_failed = notify(
        "NotifyPlanFailed",
        "SageLane: a deployment request was refused",
        fmt("A deployment request could not be planned: {}: {}", s("$.error.Error"), s("$.error.Cause")),
    )
    plan_failed.next(sfn.Fail(scope, "RequestRefused", error=DEPLOY_FAILED, cause_path="$.error.Cause"))
    plan_state = common.invoke(
        scope,
        "Plan",
        function=plan,
        payload={"request": sfn.JsonPath.object_at("$.request"), "run": s("$.run")},
        result_path="$.plan",
    )
    plan_state.add_catch(plan_failed, errors=[sfn.Errors.ALL], result_path="$.error")
    request = sfn.Pass(
        scope, "Request", parameters={"request.$": "$", "run.$": "$$.Execution.Name"}, comment="the event, or a request"
    )
    return sfn.Chain.start(request).next(plan_state).next(action)
