"""Invoke a freshly deployed endpoint with rows built from the contract; fail unless every row is answered."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws, runtime
from sagelane.serving import runtime as serving
from sagelane.serving.deploy import smoke_test

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    model = serving.model(event["model"])
    result = smoke_test(
        runtime=aws.client("sagemaker-runtime"), endpoint=event["endpoint"], contract=runtime.contract(model.dataset)
    )
    logger.info("smoke test passed", extra=result)
    return result
