"""Scheduled check of one model's live traffic: drift (PSI / KS against the live version's training
baseline) and, from ground-truth labels, live quality (the contract's primary metric), to CloudWatch."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sagelane import aws, runtime, settings
from sagelane.monitoring.monitor import (
    NothingToMonitorError,
    check_model,
    check_model_quality,
    publish,
    publish_quality,
)
from sagelane.serving import runtime as serving

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    env = settings.required(settings.ENVIRONMENT)
    model = serving.model(event["model"])
    bucket = settings.required(settings.ARTIFACTS_BUCKET)
    s3, cloudwatch = aws.client("s3"), aws.client("cloudwatch")
    try:
        report = check_model(
            s3=s3,
            sagemaker=aws.client("sagemaker"),
            env=env,
            model=model.name,
            capture_bucket=bucket,
            hours=model.monitoring.window_hours,
        )
    except NothingToMonitorError as exc:
        logger.info("nothing to monitor", extra={"reason": str(exc)})
        return {"model": model.name, "monitored": False, "reason": str(exc)}
    published = publish(cloudwatch, env=env, report=report, min_rows=model.monitoring.min_rows)
    summary: dict[str, Any] = {
        "model": model.name,
        "monitored": True,
        "version": report.live.version,
        "rows": report.rows,
        "max_psi": report.max_psi,
        "max_ks": report.max_ks,
    }
    quality = check_model_quality(s3=s3, env=env, model=model, contract=runtime.contract(model.dataset), bucket=bucket)
    if quality is not None:
        for problem in quality.rejected:
            logger.warning("labels file rejected", extra={"reason": problem})
        published += publish_quality(cloudwatch, env=env, model=model.name, quality=quality)
        summary["quality"] = quality.to_dict()
    summary["metrics"] = published
    logger.info("monitored", extra=summary)
    return summary
