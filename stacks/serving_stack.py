"""Serving: the deploy workflow started by approvals, endpoint alarms, the serving role, the invoke policy."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sagelane import settings
from sagelane.alarms import rollback_alarm_names, throttling_alarm_name
from sagelane.client import endpoint_name
from sagelane.config import ModelConfig, Project
from sagelane.registry import group_name
from sagelane.serving import runtime as serving_runtime
from sagelane.serving.deploy import LIVE_VARIANT
from stacks.constructs.common import (
    encrypted_table,
    notification_topic,
    notify_on_change,
    publish_workflow,
    put_metrics_statement,
)
from stacks.constructs.grants import grant_encrypted_tables_and_topics
from stacks.constructs.nag import acknowledge, acknowledge_unscoped, acknowledge_workflow_role, list_model_packages
from stacks.constructs.python_function import PythonFunction, dependency_layer, powertools_layer
from stacks.data_lake_stack import DataLakeStack
from stacks.ingest_stack import log_retention
from stacks.training_stack import TrainingStack
from step_functions.deploy import ServedModel, build_deploy_definition

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"


class ServingStack(Stack):
    """Exposes ``state_machine``, ``topic``, ``deployments``, ``serving_role``, ``alarms`` and ``invoke_policy``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project: Project,
        lake: DataLakeStack,
        training: TrainingStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        config = project.config
        env = config.name
        removal = RemovalPolicy.RETAIN if config.lake.removal_policy == "retain" else RemovalPolicy.DESTROY
        retention = log_retention(config.logging.retention_days)
        artifacts = lake.zone(self, "artifacts")
        self.paging = lake.paging  # prod: the alarms also page
        self.topic = notification_topic(
            self, display_name=f"SageLane {env} serving", key=lake.key, emails=config.notifications.emails
        )
        # model → the version its endpoint serves (and what served before): the deploy workflow's memory.
        self.deployments = encrypted_table(
            self, "Deployments", partition_key="model", key=lake.key, removal_policy=removal
        )

        # --- the role endpoints run as: read the model and its code, write captured traffic ---
        self.serving_role = iam.Role(
            self,
            "ServingRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageLane {env}: SageMaker endpoints (read model artifacts and code, write data capture)",
        )
        # each version's model and its own copy of the code (training/<model>/<run>/code/): never the CDK
        # asset of the day, so every version (rollback, scale-out, a cold start) can start
        artifacts.grant_read(self.serving_role, "training/*")
        artifacts.grant_write(self.serving_role, "capture/*")
        self.serving_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[self._endpoint_logs_arn()],
            )
        )
        self.serving_role.add_to_policy(put_metrics_statement("/aws/sagemaker/*"))
        self.serving_role.add_to_policy(  # the framework images live in AWS's registries
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=[f"arn:{self.partition}:ecr:{self.region}:*:repository/sagemaker-*"],
            )
        )
        self.serving_role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))

        # --- endpoint alarms: notify, and roll a deployment back while it bakes ---
        self.alarms: dict[str, list[cloudwatch.Alarm]] = {}
        served: list[ServedModel] = []
        for model in config.models:
            alarms = self._alarms(env, model)
            self.alarms[model.name] = alarms
            self._throttling_alarm(env, model)
            served.append(
                ServedModel(
                    model=model,
                    alarm_names=list(rollback_alarm_names(env, model.name).values()),  # stable names, not tokens
                    kms_key_arn=lake.key.key_arn,
                    capture_uri=f"s3://{artifacts.bucket.bucket_name}/capture/{model.name}",
                    endpoint=endpoint_name(env, model.name),
                )
            )

        # --- functions ---
        layers = [dependency_layer(self, "Dependencies", root=project.root), powertools_layer(self, "Powertools")]
        environment = {
            settings.ENVIRONMENT: env,
            settings.MODELS: serving_runtime.encode(config.models),
            settings.DEPLOYMENTS_TABLE: self.deployments.table_name,
        }

        def function(name: str, handler: str, description: str) -> PythonFunction:
            return PythonFunction(
                self,
                name,
                project=project,
                handler=handler,
                description=description,
                layers=layers,
                environment=environment,
                memory_mb=512,
                timeout=Duration.minutes(2),
                log_retention=retention,
                log_key=lake.key,
                removal_policy=removal,
            )

        plan = function("Plan", "deploy_plan", "Decide what a model's endpoint serves after an approval or rejection")
        smoke = function("SmokeTest", "deploy_smoke_test", "Invoke a new deployment with contract-shaped rows")
        self.deployments.grant_read_data(plan.function)
        groups = [self._arn("model-package-group", group_name(env, m.name)) for m in config.models]
        packages = [self._arn("model-package", f"{group_name(env, m.name)}/*") for m in config.models]
        endpoints = [self._arn("endpoint", endpoint_name(env, m.name)) for m in config.models]
        plan.function.add_to_role_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[*groups, *packages])
        )
        list_model_packages(plan.function.role, plan.function.add_to_role_policy)  # type: ignore[arg-type]
        plan.function.add_to_role_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribeEndpoint"], resources=endpoints)
        )
        smoke.function.add_to_role_policy(
            iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=endpoints)
        )

        # --- the workflow ---
        machine_name = f"sagelane-{env}-deploy"
        log_group = logs.LogGroup(
            self, "DeployWorkflowLogs", retention=retention, removal_policy=removal, encryption_key=lake.key
        )
        self.state_machine = sfn.StateMachine(
            self,
            "DeployWorkflow",
            state_machine_name=machine_name,
            comment="SageLane deploy: Model from the approved package, endpoint config, blue/green update, smoke "
            "test, autoscaling",
            definition_body=sfn.DefinitionBody.from_chainable(
                build_deploy_definition(
                    self,
                    plan=plan.function,
                    smoke_test=smoke.function,
                    deployments=self.deployments,
                    topic=self.topic,
                    serving_role_arn=self.serving_role.role_arn,
                    models=served,
                )
            ),
            timeout=Duration.hours(12),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        self._grant_workflow(env, config.models, endpoints, packages, lake)
        grant_encrypted_tables_and_topics(lake.key, self.state_machine)  # the Deployments table, the topic
        acknowledge_workflow_role(self.state_machine, [plan.function, smoke.function])

        # --- approvals and rejections start it (only the approval status filter lets anything through) ---
        for model in config.models:
            events.Rule(
                self,
                f"Approval-{model.name}",
                description=f"Deploy {model.name} when a version is approved; roll back when the live one is rejected",
                event_pattern=events.EventPattern(
                    source=["aws.sagemaker"],
                    detail_type=[MODEL_PACKAGE_STATE_CHANGE],
                    detail={
                        "ModelPackageGroupName": [group_name(env, model.name)],
                        "ModelApprovalStatus": ["Approved", "Rejected"],
                    },
                ),
                targets=[targets.SfnStateMachine(self.state_machine)],
            )

        # --- what applications attach to call the models ---
        self.invoke_policy = iam.ManagedPolicy(
            self,
            "InvokePolicy",
            managed_policy_name=f"sagelane-{env}-invoke",
            description=f"SageLane {env}: invoke the models' endpoints, nothing else",
            statements=[iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=endpoints)],
        )
        publish_workflow(self, env=env, workflow="deploy", state_machine=self.state_machine)
        CfnOutput(
            self,
            "InvokePolicyArn",
            value=self.invoke_policy.managed_policy_arn,
            description="Attach to applications: sagemaker:InvokeEndpoint on this environment's model endpoints",
        )
        CfnOutput(self, "Endpoints", value=json.dumps({m.name: endpoint_name(env, m.name) for m in config.models}))
        self._acknowledge(env, config.models, plan)

    def _arn(self, resource: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=resource, resource_name=name)

    def _arn_alarm(self, name: str) -> str:
        return self.format_arn(
            service="cloudwatch", resource="alarm", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )

    def _endpoint_logs_arn(self) -> str:
        return self.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/Endpoints/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _alarms(self, env: str, model: ModelConfig) -> list[cloudwatch.Alarm]:
        endpoint = endpoint_name(env, model.name)
        names = rollback_alarm_names(env, model.name)
        dimensions = {"EndpointName": endpoint, "VariantName": LIVE_VARIANT}
        errors = cloudwatch.Alarm(
            self,
            f"Errors-{model.name}",
            alarm_name=names["errors"],
            alarm_description=f"{endpoint}: the model answers with server errors (5XX); rolls back a deployment",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="Invocation5XXErrors",
                dimensions_map=dimensions,
                statistic="Sum",
                period=Duration.minutes(1),
            ),
            threshold=model.serving.max_5xx_per_minute,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        latency = cloudwatch.Alarm(
            self,
            f"Latency-{model.name}",
            alarm_name=names["latency"],
            alarm_description=f"{endpoint}: p99 model latency above {model.serving.max_p99_latency_ms} ms; "
            "rolls back a deployment",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="ModelLatency",  # microseconds
                dimensions_map=dimensions,
                statistic="p99",
                period=Duration.minutes(1),
            ),
            threshold=model.serving.max_p99_latency_ms * 1000,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (errors, latency):
            notify_on_change(alarm, self.topic, self.paging)
        return [errors, latency]

    def _throttling_alarm(self, env: str, model: ModelConfig) -> cloudwatch.Alarm | None:
        """Serverless: requests past ``max_concurrency`` are throttled, and SageMaker publishes no throttle
        count, so the alarm watches the share of the concurrency in use (``max_concurrency`` or
        ``provisioned_concurrency`` too low). Notifies only: a busy endpoint is no reason to roll back.
        Instance endpoints scale out instead (autoscaling on invocations per instance)."""
        if model.serving.mode != "serverless":
            return None
        endpoint = endpoint_name(env, model.name)
        alarm = cloudwatch.Alarm(
            self,
            f"Throttling-{model.name}",
            alarm_name=throttling_alarm_name(env, model.name),
            alarm_description=f"{endpoint}: concurrency at 90 % or more of max_concurrency "
            f"({model.serving.max_concurrency}) in 3 of 5 minutes; requests past it are throttled",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="ServerlessConcurrentExecutionsUtilization",
                dimensions_map={"EndpointName": endpoint, "VariantName": LIVE_VARIANT},
                statistic="Maximum",
                period=Duration.minutes(1),
            ),
            threshold=0.9,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return notify_on_change(alarm, self.topic, self.paging)

    def _grant_workflow(
        self, env: str, models: list[ModelConfig], endpoints: list[str], packages: list[str], lake: DataLakeStack
    ) -> None:
        role = self.state_machine.role
        prefix = f"sagelane-{env}-"
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:AddTags"],
                resources=[self._arn("model", f"{prefix}*"), self._arn("endpoint-config", f"{prefix}*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:AddTags",
                ],
                resources=[*endpoints, self._arn("endpoint-config", f"{prefix}*")],
            )
        )
        role.add_to_principal_policy(  # CreateModel from a package reads the package
            iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=packages)
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.serving_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        role.add_to_principal_policy(  # SageMaker checks the rollback alarms as the caller of UpdateEndpoint
            iam.PolicyStatement(
                actions=["cloudwatch:DescribeAlarms"],
                resources=[a.alarm_arn for alarms in self.alarms.values() for a in alarms],
            )
        )
        lake.key.grant(role, "kms:CreateGrant", "kms:DescribeKey")
        if any(m.serving.mode == "instance" for m in models):
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[
                        "application-autoscaling:RegisterScalableTarget",
                        "application-autoscaling:PutScalingPolicy",
                    ],
                    resources=[
                        self.format_arn(
                            service="application-autoscaling", resource="scalable-target", resource_name="*"
                        )
                    ],
                )
            )
            role.add_to_principal_policy(  # no resource-level permissions
                iam.PolicyStatement(actions=["application-autoscaling:DescribeScalableTargets"], resources=["*"])
            )
            acknowledge_unscoped(
                role,
                "application-autoscaling:DescribeScalableTargets has no resource-level permissions.",
            )
            # Application Auto Scaling validates that its caller may do what scaling will do: describe the
            # endpoint and its config and set the variant's capacity; create, read and delete the target
            # tracking alarms it names TargetTracking-<resource id>-...
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeEndpointConfig"], resources=[self._arn("endpoint-config", f"{prefix}*")]
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["sagemaker:UpdateEndpointWeightsAndCapacities"], resources=endpoints)
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
                    resources=[self._arn_alarm(f"TargetTracking-endpoint/{prefix}*")],
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[
                        f"arn:{self.partition}:iam::{self.account}:role/aws-service-role/"
                        "sagemaker.application-autoscaling.amazonaws.com/"
                        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
                    ],
                    conditions={
                        "StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
                    },
                )
            )

    def _acknowledge(self, env: str, models: list[ModelConfig], plan: PythonFunction) -> None:
        """The wildcards this stack needs, each acknowledged on the one role or policy it is on."""
        base = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
        prefix = f"sagelane-{env}-"
        role = self.state_machine.role
        for resource in ("model", "endpoint-config"):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{base}:{resource}/{prefix}*]",
                f"Each deployment creates a {resource} with a per-run name under this environment's prefix.",
            )
        for model in models:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{base}:model-package/{group_name(env, model.name)}/*]",
                "Versions of this model are created at run time; the ARN is fixed up to its package group.",
            )
        if any(m.serving.mode == "instance" for m in models):
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:application-autoscaling:<AWS::Region>:"
                "<AWS::AccountId>:scalable-target/*]",
                "Scalable target IDs are generated by Application Auto Scaling when an endpoint variant is registered.",
            )
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:"
                f"TargetTracking-endpoint/{prefix}*]",
                "Application Auto Scaling names its target tracking alarms itself (TargetTracking-<resource id>-"
                "AlarmHigh/Low-<uuid>); the grant is limited to this environment's endpoints.",
            )
        for model in models:
            acknowledge(
                plan.function.role,  # type: ignore[arg-type]
                f"AwsSolutions-IAM5[Resource::{base}:model-package/{group_name(env, model.name)}/*]",
                "The plan reads the versions of this model; they are created at run time.",
            )
        acknowledge(
            self.serving_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
            "/aws/sagemaker/Endpoints/*]",
            "SageMaker writes each endpoint's logs into AWS-defined log groups named after the endpoint.",
        )
        acknowledge_unscoped(
            self.serving_role,
            "cloudwatch:PutMetricData (limited to SageMaker's namespaces by a condition) and "
            "ecr:GetAuthorizationToken have no resource-level permissions.",
        )
        acknowledge(
            self.serving_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:*:repository/sagemaker-*]",
            "The framework images are in AWS-owned registries whose account differs per region; pulls are limited "
            "to the SageMaker framework repositories.",
        )
