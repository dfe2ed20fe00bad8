"""Register an accepted candidate in the Model Registry, awaiting approval (or approved where allowed)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws, settings
from sagelane.training import runtime as training
from sagelane.training.steps import publish_version_metrics, register

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    model, images = training.model(event["model"])
    registered = register(
        s3=aws.client("s3"),
        sagemaker=aws.client("sagemaker"),
        prepared=event["prepared"],
        evaluation=event["evaluation"],
        training_job=event["training"],
        group=training.group(model.name),
        model=model,
        inference_image=images["inference_image"],
        auto_approve=settings.required(settings.AUTO_APPROVE) == "true",
        code_version=settings.required(settings.TRAINING_CODE_VERSION),
        trigger=event["prepared"].get("trigger"),
    )
    publish_version_metrics(
        aws.client("cloudwatch"),
        env=training.environment(),
        model=model.name,
        metrics=event["evaluation"]["metrics"],
    )
    return registered
