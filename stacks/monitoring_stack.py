"""Monitoring: the scheduled check per model (drift; quality from labels), their alarms, and the alarm →
retraining rule."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sagelane import settings
from sagelane.alarms import drift_alarm_name, drift_check_failed_alarm_name, quality_alarm_name
from sagelane.client import endpoint_name
from sagelane.config import ModelConfig, Project
from sagelane.monitoring.quality import LABELS_PREFIX, LOWER_IS_BETTER, alarm_threshold
from sagelane.registry import group_name
from sagelane.serving import runtime as serving_runtime
from stacks.constructs.common import notification_topic, notify_on_change, put_metrics_statement
from stacks.constructs.nag import acknowledge, acknowledge_unscoped
from stacks.constructs.python_function import PythonFunction, dependency_layer, powertools_layer
from stacks.data_lake_stack import DataLakeStack
from stacks.ingest_stack import IngestStack, log_retention
from stacks.serving_stack import ServingStack
from stacks.training_stack import TrainingStack

ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"


class MonitoringStack(Stack):
    """Exposes ``monitor`` (the check function), ``topic``, ``drift_alarms``, ``quality_alarms`` and
    ``retrain_rules``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project: Project,
        lake: DataLakeStack,
        ingest: IngestStack,
        training: TrainingStack,
        serving: ServingStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        config = project.config
        env = config.name
        removal = RemovalPolicy.RETAIN if config.lake.removal_policy == "retain" else RemovalPolicy.DESTROY
        artifacts = lake.zone(self, "artifacts")
        self.paging = lake.paging  # prod: the alarms also page
        self.topic = notification_topic(
            self, display_name=f"SageLane {env} monitoring", key=lake.key, emails=config.notifications.emails
        )
        layers = [dependency_layer(self, "Dependencies", root=project.root), powertools_layer(self, "Powertools")]
        # The schedules invoke the drift monitor asynchronously: a run that fails after Lambda's retries lands
        # here, and the alarm below tells the operators.
        self.failed_checks = sqs.Queue(
            self,
            "FailedDriftChecks",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=lake.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.failed_checks,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the drift monitor; it has no DLQ of its own.",
        )
        self.monitor = PythonFunction(
            self,
            "DriftMonitor",
            project=project,
            handler="monitor_drift",
            description="Drift of a model's captured traffic against its live version's training baseline",
            layers=layers,
            environment={
                settings.ENVIRONMENT: env,
                settings.MODELS: serving_runtime.encode(config.models),
                settings.ARTIFACTS_BUCKET: artifacts.bucket.bucket_name,
            },
            memory_mb=1024,
            timeout=Duration.minutes(5),
            log_retention=log_retention(config.logging.retention_days),
            log_key=lake.key,
            removal_policy=removal,
            dead_letter_queue=self.failed_checks,
        )
        fn = self.monitor.function
        # CDK grants sqs:SendMessage for the dead-letter queue; SSE-KMS needs these two on the queue's key.
        lake.key.grant(fn, "kms:GenerateDataKey", "kms:Decrypt")
        notify_on_change(
            cloudwatch.Alarm(
                self,
                "DriftCheckFailed",
                alarm_name=drift_check_failed_alarm_name(env),
                alarm_description="A scheduled drift check failed after Lambda's retries; its event is in the "
                "FailedDriftChecks queue and the error in the DriftMonitor function's logs.",
                metric=self.failed_checks.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            self.topic,
            self.paging,
        )
        artifacts.grant_read(fn, "capture/*")
        artifacts.grant_read(fn, f"{LABELS_PREFIX}/*")
        artifacts.grant_read(fn, "training/*")  # the baseline inside the live version's model.tar.gz
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[artifacts.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["capture/*", f"{LABELS_PREFIX}/*"]}},
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
                resources=[
                    *(self._arn("endpoint", endpoint_name(env, m.name)) for m in config.models),
                    self._arn("endpoint-config", f"sagelane-{env}-*"),
                    self._arn("model", f"sagelane-{env}-*"),
                ],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeModelPackage"],
                resources=[self._arn("model-package", f"{group_name(env, m.name)}/*") for m in config.models],
            )
        )
        fn.add_to_role_policy(put_metrics_statement(f"SageLane/{env}"))

        self.drift_alarms: dict[str, cloudwatch.Alarm] = {}
        self.quality_alarms: dict[str, cloudwatch.Alarm] = {}
        self.retrain_rules: dict[str, events.Rule] = {}
        for model in config.models:
            monitoring = model.monitoring
            events.Rule(
                self,
                f"DriftSchedule-{model.name}",
                description=f"Check the drift of {model.name}'s live traffic",
                schedule=events.Schedule.expression(monitoring.schedule),
                targets=[targets.LambdaFunction(fn, event=events.RuleTargetInput.from_object({"model": model.name}))],
            )
            self.drift_alarms[model.name] = self._drift_alarm(env, model)
            quality = self._quality_alarm(env, model, project)
            if quality is not None:
                self.quality_alarms[model.name] = quality
            if monitoring.retrain_on_alarm:
                self.retrain_rules[model.name] = self._retrain_rule(env, model, training)
            self._dashboard(env, model, ingest=ingest, training=training, serving=serving)
        self._acknowledge(env, config.models)

    def _arn(self, resource: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=resource, resource_name=name)

    def _drift_alarm(self, env: str, model: ModelConfig) -> cloudwatch.Alarm:
        monitoring = model.monitoring
        alarm = cloudwatch.Alarm(
            self,
            f"Drift-{model.name}",
            alarm_name=drift_alarm_name(env, model.name),
            alarm_description=f"{model.name}: live traffic drifted from the training baseline (max PSI "
            f">= {monitoring.max_psi:g})" + ("; starts retraining" if monitoring.retrain_on_alarm else ""),
            metric=cloudwatch.Metric(
                namespace=f"SageLane/{env}",
                metric_name="MaxPSI",
                dimensions_map={"Model": model.name},
                statistic="Maximum",
                period=Duration.seconds(monitoring.period_seconds),
            ),
            threshold=monitoring.max_psi,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # no traffic is not drift
        )
        return notify_on_change(alarm, self.topic, self.paging)

    def _quality_alarm(self, env: str, model: ModelConfig, project: Project) -> cloudwatch.Alarm | None:
        """The live primary metric past its threshold (none without a target or a threshold)."""
        contract = project.contract(model.dataset)
        threshold = alarm_threshold(model, contract)
        if contract.target is None or threshold is None:
            return None
        metric = contract.target.primary_metric
        lower_is_better = metric in LOWER_IS_BETTER
        monitoring = model.monitoring
        alarm = cloudwatch.Alarm(
            self,
            f"Quality-{model.name}",
            alarm_name=quality_alarm_name(env, model.name),
            alarm_description=f"{model.name}: live {metric} from ground-truth labels "
            f"{'above' if lower_is_better else 'below'} {threshold:g}"
            + ("; starts retraining" if monitoring.retrain_on_alarm else ""),
            metric=cloudwatch.Metric(
                namespace=f"SageLane/{env}",
                metric_name="LiveMetric",
                dimensions_map={"Model": model.name, "Metric": metric},
                statistic="Maximum" if lower_is_better else "Minimum",
                period=Duration.seconds(monitoring.period_seconds),
            ),
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
            if lower_is_better
            else cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # no labels is no verdict
        )
        return notify_on_change(alarm, self.topic, self.paging)

    def _dashboard(
        self, env: str, model: ModelConfig, *, ingest: IngestStack, training: TrainingStack, serving: ServingStack
    ) -> cloudwatch.Dashboard:
        """One page per model: its data's ingest outcomes, its runs, its versions' metrics, its endpoint, drift."""
        namespace = f"SageLane/{env}"
        endpoint = {"EndpointName": endpoint_name(env, model.name), "VariantName": "live"}
        hour = Duration.hours(1)

        def runs(title: str, machine: Any) -> cloudwatch.GraphWidget:
            dims = {"StateMachineArn": machine.state_machine_arn}
            return cloudwatch.GraphWidget(
                title=title,
                width=8,
                left=[
                    cloudwatch.Metric(
                        namespace="AWS/States", metric_name=name, dimensions_map=dims, statistic="Sum", period=hour
                    )
                    for name in ("ExecutionsSucceeded", "ExecutionsFailed")
                ],
            )

        def sagemaker(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SageMaker", metric_name=name, dimensions_map=endpoint, statistic=statistic
            )

        drift = self.drift_alarms[model.name]
        board = cloudwatch.Dashboard(
            self,
            f"Dashboard-{model.name}",
            dashboard_name=f"sagelane-{env}-{model.name}",
            default_interval=Duration.days(7),
        )
        board.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# {model.name} ({env})\nDataset **{model.dataset}**, {model.algorithm}, served "
                f"{model.serving.mode} on `{endpoint_name(env, model.name)}`. Versions and the live one: "
                f"`sagelane models list {model.name} --env {env}`; drift now: `sagelane monitor {model.name}`.",
                width=24,
                height=2,
            )
        )
        board.add_widgets(
            runs(f"Ingest runs (all datasets; {model.dataset} among them)", ingest.state_machine),
            runs("Train runs", training.state_machine),
            runs("Deploy runs", serving.state_machine),
        )
        board.add_widgets(
            cloudwatch.GraphWidget(
                title="Metrics of each registered version",
                width=8,
                left=[
                    cloudwatch.MathExpression(
                        expression=f'SEARCH(\'{{{namespace},Model,Metric}} Model="{model.name}" '
                        f"MetricName=\"VersionMetric\"', 'Maximum', 3600)",
                        label="",
                        period=hour,
                    )
                ],
            ),
            cloudwatch.GraphWidget(
                title="Endpoint: invocations and errors",
                width=8,
                left=[sagemaker("Invocations", "Sum"), sagemaker("Invocation4XXErrors", "Sum")],
                right=[sagemaker("Invocation5XXErrors", "Sum")],
            ),
            cloudwatch.GraphWidget(
                title="Endpoint: model latency (microseconds)",
                width=8,
                left=[sagemaker("ModelLatency", "p50"), sagemaker("ModelLatency", "p99")],
            ),
        )
        quality = self.quality_alarms.get(model.name)
        if quality is not None:
            board.add_widgets(
                cloudwatch.AlarmWidget(title="Quality: live primary metric from labels", alarm=quality, width=12),
                cloudwatch.GraphWidget(
                    title="Quality: labelled rows joined to captured predictions",
                    width=12,
                    left=[
                        cloudwatch.Metric(
                            namespace=namespace,
                            metric_name="LabelledRows",
                            dimensions_map={"Model": model.name},
                            statistic="Maximum",
                            period=Duration.seconds(model.monitoring.period_seconds),
                        )
                    ],
                ),
            )
        board.add_widgets(
            cloudwatch.AlarmWidget(title="Drift: max PSI over features and predictions", alarm=drift, width=12),
            cloudwatch.GraphWidget(
                title="Drift: PSI per feature",
                width=12,
                left=[
                    cloudwatch.MathExpression(
                        expression=f'SEARCH(\'{{{namespace},Feature,Model}} Model="{model.name}" '
                        f"MetricName=\"FeaturePSI\"', 'Maximum', {model.monitoring.period_seconds})",
                        label="",
                        period=Duration.seconds(model.monitoring.period_seconds),
                    )
                ],
            ),
        )
        return board

    def _retrain_rule(self, env: str, model: ModelConfig, training: TrainingStack) -> events.Rule:
        """ALARM of this model's drift or quality alarm → the train workflow, naming the alarm (kept in the
        lineage)."""
        names = [drift_alarm_name(env, model.name)]
        if model.name in self.quality_alarms:
            names.append(quality_alarm_name(env, model.name))
        return events.Rule(
            self,
            f"RetrainOnAlarm-{model.name}",
            description=f"Retrain {model.name} when its drift or quality alarm goes to ALARM",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=[ALARM_STATE_CHANGE],
                detail={"alarmName": names, "state": {"value": ["ALARM"]}},
            ),
            targets=[
                targets.SfnStateMachine(
                    training.state_machine,
                    input=events.RuleTargetInput.from_object(
                        {
                            "model": model.name,
                            "trigger": "alarm",
                            "alarm": events.EventField.from_path("$.detail.alarmName"),
                        }
                    ),
                )
            ],
        )

    def _acknowledge(self, env: str, models: list[ModelConfig]) -> None:
        base = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
        role = self.monitor.function.role
        for resource in ("endpoint-config", "model"):
            acknowledge(
                role,  # type: ignore[arg-type]
                f"AwsSolutions-IAM5[Resource::{base}:{resource}/sagelane-{env}-*]",
                f"Deployments name each {resource} per run under this environment's prefix; the check only "
                "describes them.",
            )
        for model in models:
            acknowledge(
                role,  # type: ignore[arg-type]
                f"AwsSolutions-IAM5[Resource::{base}:model-package/{group_name(env, model.name)}/*]",
                "The check reads the live version of this model; versions are created at run time.",
            )
        acknowledge_unscoped(
            role,  # type: ignore[arg-type]
            "cloudwatch:PutMetricData has no resource-level permissions; a condition limits it to this "
            "environment's SageLane namespace.",
        )
