"""Training and the Model Registry: the train workflow, a package group per model, the approval gate."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sagelane import settings
from sagelane.config import Project
from sagelane.registry import group_name
from sagelane.training import wheelhouse
from sagelane.training.images import framework_for
from sagelane.training.package import build_source_tarball
from stacks.constructs.common import encrypted_table, notification_topic, publish_workflow, put_metrics_statement
from stacks.constructs.grants import grant_encrypted_tables_and_topics
from stacks.constructs.images import framework_image
from stacks.constructs.nag import acknowledge, acknowledge_unscoped, acknowledge_workflow_role, list_model_packages
from stacks.constructs.python_function import PythonFunction, dependency_layer, powertools_layer
from stacks.data_lake_stack import DataLakeStack
from stacks.ingest_stack import CURATED_EVENT, SAGELANE_SOURCE, log_retention
from step_functions.train import TrainFunctions, build_train_definition


class TrainingStack(Stack):
    """Exposes ``state_machine``, ``topic``, ``locks``, ``training_role``, ``groups``, ``approver_policy`` and
    ``source`` (the training and inference code asset)."""

    def __init__(self, scope: Construct, id: str, *, project: Project, lake: DataLakeStack, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = project.config
        env = config.name
        retain = config.lake.removal_policy == "retain"
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        retention = log_retention(config.logging.retention_days)
        curated, artifacts = lake.zone(self, "curated"), lake.zone(self, "artifacts")

        self.topic = notification_topic(
            self, display_name=f"SageLane {env} training", key=lake.key, emails=config.notifications.emails
        )
        # Only the locks of running trainings live here: nothing to retain.
        self.locks = encrypted_table(
            self, "Locks", partition_key="model", key=lake.key, removal_policy=RemovalPolicy.DESTROY
        )

        # --- the code SageMaker runs, and the role it runs as ---
        self.source = source = s3_assets.Asset(
            self,
            "TrainingCode",
            path=str(
                build_source_tarball(
                    project.root / "training", project.root / "build" / "training", wheelhouse.location(project.root)
                )
            ),
        )
        self.training_role = iam.Role(
            self,
            "TrainingRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageLane {env}: SageMaker training jobs (read their channels and code, write their output)",
        )
        artifacts.grant_read(self.training_role, "training/*")
        artifacts.grant_write(self.training_role, "training/*")
        artifacts.grant_list(self.training_role, "training/")  # its S3Prefix channels
        self.training_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[
                    self.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/TrainingJobs:*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.training_role.add_to_policy(put_metrics_statement("/aws/sagemaker/*"))

        # --- one package group per model; only the approver policy may change approval ---
        self.groups: dict[str, sagemaker.CfnModelPackageGroup] = {}
        models_env: dict[str, Any] = {}
        for model in config.models:
            group = sagemaker.CfnModelPackageGroup(
                self,
                f"Group-{model.name}",
                model_package_group_name=group_name(env, model.name),
                model_package_group_description=f"SageLane {env}: {model.name} trained on {model.dataset}",
            )
            group.apply_removal_policy(removal)
            self.groups[model.name] = group
            framework = framework_for(model.algorithm)
            models_env[model.name] = {
                **model.model_dump(mode="json", exclude_unset=True),
                "training_image": framework_image(
                    self, framework, image_scope="training", instance_type=model.instance_type
                ),
                # the image the version is served with: the GPU image when its endpoint runs on GPUs
                "inference_image": framework_image(
                    self,
                    framework,
                    image_scope="inference",
                    instance_type=model.serving.instance_type if model.serving.mode == "instance" else "ml.m5.large",
                ),
            }
        packages = [self._package_arn(group_name(env, m.name)) for m in config.models]
        groups = [self._group_arn(group_name(env, m.name)) for m in config.models]

        # --- functions ---
        layers = [dependency_layer(self, "Dependencies", root=project.root), powertools_layer(self, "Powertools")]
        common = {
            settings.ENVIRONMENT: env,
            settings.MODELS: self.to_json_string(models_env),
            settings.CURATED_BUCKET: curated.bucket.bucket_name,
            settings.ARTIFACTS_BUCKET: artifacts.bucket.bucket_name,
        }

        def function(name: str, handler: str, description: str, memory: int, extra: dict[str, str]) -> PythonFunction:
            return PythonFunction(
                self,
                name,
                project=project,
                handler=handler,
                description=description,
                layers=layers,
                environment={**common, **extra},
                memory_mb=memory,
                timeout=Duration.minutes(15),
                ephemeral_storage_mb=config.ingest.ephemeral_storage_mb,
                log_retention=retention,
                log_key=lake.key,
                removal_policy=removal,
            )

        prepare = function(
            "Prepare",
            "train_prepare",
            "Split curated data for training, with lineage",
            4096,
            {
                settings.TRAINING_SOURCE_URI: source.s3_object_url,
                settings.KMS_KEY_ARN: lake.key.key_arn,
            },
        )
        evaluate = function("Evaluate", "train_evaluate", "Decide on a trained candidate", 512, {})
        register = function(
            "Register",
            "train_register",
            "Register a candidate in the Model Registry",
            512,
            {
                settings.AUTO_APPROVE: "true" if config.training.auto_approve else "false",
                settings.TRAINING_CODE_VERSION: source.asset_hash[:12],
            },
        )
        prepare.function.add_to_role_policy(  # it copies exactly the code object beside each run (finding 6)
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[source.bucket.arn_for_objects(source.s3_object_key)]
            )
        )
        curated.grant_read(prepare.function, "data/*")
        curated.grant_list(prepare.function, "data/")
        artifacts.grant_write(prepare.function, "training/*")
        artifacts.grant_read(evaluate.function, "training/*")
        artifacts.grant_write(register.function, "training/*")
        read_registry = iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
            resources=[*groups, *packages],
        )
        for reader in (prepare.function, register.function):
            reader.add_to_role_policy(read_registry)
            list_model_packages(reader.role, reader.add_to_role_policy)  # type: ignore[arg-type]
        create = iam.PolicyStatement(actions=["sagemaker:CreateModelPackage"], resources=[*groups, *packages])
        if not config.training.auto_approve:
            # The approval gate: the pipeline can only create versions that wait for a person.
            create.add_condition("StringEquals", {"sagemaker:ModelApprovalStatus": "PendingManualApproval"})
        register.function.add_to_role_policy(create)
        register.function.add_to_role_policy(put_metrics_statement(f"SageLane/{env}"))  # each version's metrics
        self.functions = TrainFunctions(prepare.function, evaluate.function, register.function)

        # --- the workflow ---
        machine_name = f"sagelane-{env}-train"
        log_group = logs.LogGroup(
            self, "TrainWorkflowLogs", retention=retention, removal_policy=removal, encryption_key=lake.key
        )
        self.state_machine = sfn.StateMachine(
            self,
            "TrainWorkflow",
            state_machine_name=machine_name,
            comment="SageLane train: prepare, SageMaker training, evaluation against thresholds and champion, registry",
            definition_body=sfn.DefinitionBody.from_chainable(
                build_train_definition(
                    self,
                    functions=self.functions,
                    locks=self.locks,
                    topic=self.topic,
                    training_role_arn=self.training_role.role_arn,
                    output_kms_key_arn=lake.key.key_arn,
                    coalesce_seconds=config.training.coalesce_seconds,
                )
            ),
            timeout=Duration.hours(30),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        grant_encrypted_tables_and_topics(lake.key, self.state_machine)  # the Locks table, the topic
        role = self.state_machine.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[self.format_arn(service="sagemaker", resource="training-job", resource_name="*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.training_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        role.add_to_principal_policy(  # how Step Functions waits for .sync training jobs
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    self.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsForSageMakerTrainingJobsRule",
                    )
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=[
                    self.format_arn(
                        service="states",
                        resource="stateMachine",
                        resource_name=machine_name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        lake.key.grant(self.training_role, "kms:CreateGrant", "kms:DescribeKey")

        # --- triggers: a dataset curated, a schedule; `sagelane train` starts it directly ---
        for dataset in {m.dataset for m in config.models}:
            rule = events.Rule(
                self,
                f"Curated-{dataset}",
                description=f"Retrain the models of {dataset} when a file of it is curated",
                event_pattern=events.EventPattern(
                    source=[SAGELANE_SOURCE],
                    detail_type=[CURATED_EVENT],
                    detail={"environment": [env], "dataset": [dataset]},
                ),
            )
            for model in config.models_of(dataset):
                rule.add_target(
                    targets.SfnStateMachine(
                        self.state_machine,
                        input=events.RuleTargetInput.from_object({"model": model.name, "trigger": "ingest"}),
                    )
                )
        for model in config.models:
            if model.schedule:
                events.Rule(
                    self,
                    f"Schedule-{model.name}",
                    description=f"Retrain {model.name} on a schedule",
                    schedule=events.Schedule.expression(model.schedule),
                    targets=[
                        targets.SfnStateMachine(
                            self.state_machine,
                            input=events.RuleTargetInput.from_object({"model": model.name, "trigger": "schedule"}),
                        )
                    ],
                )

        # --- the approver policy: attach it to the people (or role) who approve models ---
        self.approver_policy = iam.ManagedPolicy(
            self,
            "ApproverPolicy",
            managed_policy_name=f"sagelane-{env}-model-approver",
            description=f"SageLane {env}: approve or reject model versions (deploys follow approvals)",
            statements=[
                iam.PolicyStatement(actions=["sagemaker:UpdateModelPackage"], resources=packages),
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
                    resources=[*groups, *packages],
                ),
            ],
        )
        list_model_packages(self.approver_policy, self.approver_policy.add_statements)
        self._acknowledge(env, config.models, [prepare, register])
        acknowledge_workflow_role(self.state_machine, [prepare.function, evaluate.function, register.function])
        publish_workflow(self, env=env, workflow="train", state_machine=self.state_machine)
        CfnOutput(
            self,
            "ApproverPolicyArn",
            value=self.approver_policy.managed_policy_arn,
            description="Attach to approvers: the only principals that may approve or reject model versions",
        )
        CfnOutput(self, "ModelPackageGroups", value=json.dumps([group_name(env, m.name) for m in config.models]))

    def _package_arn(self, group: str) -> str:
        return self.format_arn(service="sagemaker", resource="model-package", resource_name=f"{group}/*")

    def _group_arn(self, group: str) -> str:
        return self.format_arn(service="sagemaker", resource="model-package-group", resource_name=group)

    def _acknowledge(self, env: str, models: list, registry_users: list[PythonFunction]) -> None:
        """The wildcards this stack needs, each acknowledged on the one role or policy it is on."""
        base = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
        versions = "Versions of this model are created at run time; the ARN is fixed up to its package group."
        principals = [*(f.function.role for f in registry_users), self.approver_policy]
        for model in models:
            finding = f"AwsSolutions-IAM5[Resource::{base}:model-package/{group_name(env, model.name)}/*]"
            for principal in principals:
                acknowledge(principal, finding, versions)  # type: ignore[arg-type]
        acknowledge_unscoped(
            registry_users[-1].function.role,  # type: ignore[arg-type]
            "cloudwatch:PutMetricData has no resource-level permissions; a condition limits it to this "
            "environment's SageLane namespace.",
        )
        acknowledge(
            self.state_machine.role,
            f"AwsSolutions-IAM5[Resource::{base}:training-job/*]",
            "Training job names are generated per run; the workflow may only create, describe, stop and tag jobs.",
        )
        acknowledge(
            self.training_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
            "/aws/sagemaker/TrainingJobs:*]",
            "SageMaker writes each job's log streams into this one AWS-defined log group; stream names are per job.",
        )
        acknowledge_unscoped(
            self.training_role,
            "cloudwatch:PutMetricData has no resource-level permissions; it is limited to SageMaker's namespaces "
            "by a condition.",
        )
