"""Copy a rejected object version next to its report in the quarantine zone (the original stays in raw)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws
from sagelane.ingest import runtime
from sagelane.ingest.steps import IngestObject, quarantine_object

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    obj = IngestObject.model_validate(event)
    return quarantine_object(obj, s3=aws.client("s3"), lake=runtime.lake())
