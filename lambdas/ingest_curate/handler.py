"""Write a validated object version to the curated zone as Parquet (PII handled) and register its partition."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws
from sagelane.ingest import runtime
from sagelane.ingest.steps import IngestObject, curate_object

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(log_event=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    obj = IngestObject.model_validate(event)
    result = curate_object(
        obj,
        s3=aws.client("s3"),
        glue=aws.client("glue"),
        contract=runtime.contract(obj.dataset),
        lake=runtime.lake(),
        limits=runtime.limits(),
        salt=runtime.pii_salt(),
    )
    metrics.add_dimension(name="dataset", value=obj.dataset)
    metrics.add_metric(name="RowsCurated", unit=MetricUnit.Count, value=result["rows"])
    return result
