"""Decide on a trained candidate: the contract's thresholds, then the champion."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws
from sagelane.training import runtime as training
from sagelane.training.steps import evaluate

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    model, _ = training.model(event["model"])
    result = evaluate(s3=aws.client("s3"), prepared=event["prepared"], model=model)
    logger.info("evaluated", extra={"accepted": result["accepted"], "reason": result["reason"]})
    return result
