"""Scheduled drift check of one model's live version: PSI / KS of its captured traffic, to CloudWatch."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws, settings
from sagelane.monitoring.monitor import NothingToMonitorError, check_model, publish
from sagelane.serving import runtime as serving

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    env = settings.required(settings.ENVIRONMENT)
    model = serving.model(event["model"])
    try:
        report = check_model(
            s3=aws.client("s3"),
            sagemaker=aws.client("sagemaker"),
            env=env,
            model=model.name,
            capture_bucket=settings.required(settings.ARTIFACTS_BUCKET),
            hours=model.monitoring.window_hours,
        )
    except NothingToMonitorError as exc:
        logger.info("nothing to monitor", extra={"reason": str(exc)})
        return {"model": model.name, "monitored": False, "reason": str(exc)}
    if report.rows < model.monitoring.min_rows:
        report.results = []  # too few rows for a drift figure: only MonitoredRows is published
    published = publish(aws.client("cloudwatch"), env=env, report=report)
    summary = {
        "model": model.name,
        "monitored": True,
        "version": report.live.version,
        "rows": report.rows,
        "max_psi": report.max_psi,
        "max_ks": report.max_ks,
        "metrics": published,
    }
    logger.info("drift", extra=summary)
    return summary
