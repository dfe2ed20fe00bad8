"""Decide what a model's endpoint should serve after an approval, a rejection or a manual request."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws, settings
from sagelane.serving import runtime as serving
from sagelane.serving.deploy import plan

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = plan(
        sagemaker=aws.client("sagemaker"),
        dynamodb=aws.client("dynamodb"),
        table=settings.required(settings.DEPLOYMENTS_TABLE),
        env=settings.required(settings.ENVIRONMENT),
        models=set(serving.models()),
        request=event["request"],
        run=event["run"],
    )
    logger.info("planned", extra={"action": result["action"], "reason": result["reason"]})
    return result
