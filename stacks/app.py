"""Build the CDK app for one environment's config (used by ``app.py`` and by the tests)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from sagelane.config import Project
from stacks.data_lake_stack import DataLakeStack
from stacks.delivery_stack import DeliveryStack
from stacks.ingest_stack import IngestStack
from stacks.monitoring_stack import MonitoringStack
from stacks.serving_stack import ServingStack
from stacks.training_stack import TrainingStack


def build_app(project: Project, *, outdir: str | None = None, context: dict[str, Any] | None = None) -> cdk.App:
    """The app with every stack of ``project``'s environment and cdk-nag (AwsSolutions) as a validation plugin.

    ``cdk synth`` reads cdk.json's context itself; tests pass the same context explicitly.
    """
    app = cdk.App(outdir=outdir, context=context)
    env = project.config.name
    name = project.config.stack_name
    if project.config.delivery:
        DeliveryStack(
            app,
            name("Delivery"),
            project=project,
            description=f"SageLane {env}: the pipeline's deploy role",
        )
    lake = DataLakeStack(app, name("DataLake"), project=project, description=f"SageLane {env}: data lake")
    ingest = IngestStack(
        app,
        name("Ingest"),
        project=project,
        lake=lake,
        description=f"SageLane {env}: ingest workflow",
    )
    if project.config.models:
        training = TrainingStack(
            app,
            name("Training"),
            project=project,
            lake=lake,
            description=f"SageLane {env}: training and model registry",
        )
        serving = ServingStack(
            app,
            name("Serving"),
            project=project,
            lake=lake,
            training=training,
            description=f"SageLane {env}: deploy on approval, endpoints, alarms",
        )
        MonitoringStack(
            app,
            name("Monitoring"),
            project=project,
            lake=lake,
            ingest=ingest,
            training=training,
            serving=serving,
            description=f"SageLane {env}: drift checks, drift alarms, retraining on alarm, dashboards",
        )
    # prod (retained data): CloudFormation refuses to delete its stacks until protection is lifted by hand
    for stack in app.node.children:
        if isinstance(stack, cdk.Stack):
            stack.termination_protection = project.config.lake.removal_policy == "retain"
    cdk.Tags.of(app).add("sagelane:environment", env)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
