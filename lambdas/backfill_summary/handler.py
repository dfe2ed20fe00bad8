"""Count a backfill's outcomes: what each object's ingest run ended as."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws
from sagelane.ingest.backfill import map_results, summarize

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = summarize(map_results(aws.client("s3"), event.get("results", [])))
    logger.info("backfill summarized", extra={k: v for k, v in summary.items() if k != "failures"})
    return summary
