"""Building blocks every workflow uses the same way: notifications, Lambda tasks, safe string formats."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

# Characters a States.Format template may hold here. Quotes and backslashes need escaping inside
# intrinsic functions (CDK does not escape them) and some interpreters reject ';': keep templates plain.
_PLAIN = "A-Za-z0-9 .,:()/{}_#=+-"
_PLAIN_TEMPLATE = re.compile(rf"^[{_PLAIN}]*$")

# Step Functions names an SDK (or optimized SageMaker) task's error <Service>.<modeled error>Exception, and
# every error the service's model does not declare, throttling and validation alike, after the SDK's base
# exception: SageMaker.AmazonSageMakerException (sagelane/local/sfn_errors.py; the Step Functions guide,
# "Learning to use AWS service SDK integrations"). A retry on the base exception also retries a request
# that can never succeed, so it is short: 3 tries within ~15 s. Capacity (ResourceLimitExceeded) waits
# longer where waiting can help (a training instance frees up).
TRANSIENT_ERRORS = {
    "sagemaker": ["SageMaker.AmazonSageMakerException"],
    "applicationautoscaling": [
        "ApplicationAutoScaling.ConcurrentUpdateException",
        "ApplicationAutoScaling.AWSApplicationAutoScalingException",
    ],
}
CAPACITY_ERRORS = ["SageMaker.ResourceLimitExceededException"]


def fmt(template: str, *paths: str) -> str:
    """``States.Format(template, paths...)``, refusing template text that would break the definition."""
    if not _PLAIN_TEMPLATE.match(template):
        bad = sorted(set(re.sub(rf"[{_PLAIN}]", "", template)))
        raise ValueError(f"States.Format template holds characters that need escaping: {bad}: {template!r}")
    return sfn.JsonPath.format(template, *paths)


def retry_transient(state: sfn.CustomState, service: str, *, capacity: bool = False) -> None:
    """Retry ``state`` (a task of Step Functions service ``service``) on the errors that may pass."""
    state.add_retry(
        errors=TRANSIENT_ERRORS[service],
        interval=Duration.seconds(5),
        max_attempts=2,
        backoff_rate=2.0,
        jitter_strategy=sfn.JitterType.FULL,
    )
    if capacity:
        state.add_retry(
            errors=CAPACITY_ERRORS,
            interval=Duration.seconds(60),
            max_attempts=4,
            backoff_rate=2.0,
            jitter_strategy=sfn.JitterType.FULL,
        )


def notify(scope: Construct, id: str, *, topic: sns.ITopic, subject: str, message: str) -> tasks.SnsPublish:
    """Publish ``message`` (text or a ``fmt`` expression) to ``topic``; the state's data passes through."""
    return tasks.SnsPublish(
        scope,
        id,
        topic=topic,
        subject=subject,
        message=sfn.TaskInput.from_text(message),
        result_path=sfn.JsonPath.DISCARD,
    )


def invoke(
    scope: Construct,
    id: str,
    *,
    function: lambda_.IFunction,
    result_path: str,
    payload: dict[str, Any] | None = None,
) -> tasks.LambdaInvoke:
    """Invoke a function with the state's data (or ``payload``); its result goes to ``result_path``.

    Lambda service errors and throttling are retried with backoff (CDK's defaults).
    """
    return tasks.LambdaInvoke(
        scope,
        id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(payload) if payload is not None else None,
        payload_response_only=True,
        retry_on_service_exceptions=True,
        result_path=result_path,
        task_timeout=sfn.Timeout.duration(Duration.minutes(16)),
    )
