"""Validate one raw object version against its dataset's contract; store the report."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws
from sagelane.ingest import runtime
from sagelane.ingest.steps import IngestObject, validate_object

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(log_event=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    obj = IngestObject.model_validate(event)
    result = validate_object(
        obj, s3=aws.client("s3"), contract=runtime.contract(obj.dataset), lake=runtime.lake(), limits=runtime.limits()
    )
    metrics.add_dimension(name="dataset", value=obj.dataset)
    metrics.add_metric(name="FilesPassed" if result["passed"] else "FilesRejected", unit=MetricUnit.Count, value=1)
    logger.info("validated", extra={"status": result["status"], "failed_rules": result["failed_rules"]})
    return result
