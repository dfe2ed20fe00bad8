"""The error names Step Functions gives a service integration's failures, as AWS names them.

An AWS SDK task (``arn:aws:states:::aws-sdk:sagemaker:createEndpoint``) fails with
``<Service>.<Error>``: an error the service's model declares keeps its name, with ``Exception`` appended
where it lacks it (``SageMaker.ResourceLimitExceededException``); any other error — SageMaker's
ValidationException and ThrottlingException are not in its model — arrives as the SDK's base exception
of the service, ``SageMaker.AmazonSageMakerException``, whatever its code (the code is in the Cause).
moto names them after botocore's class instead (``SageMaker.SageMakerException``), so a Retry on the
real names never matched offline, and one on names AWS never raises (``SageMaker.ThrottlingException``)
looked fine. ``task_error`` is what the embedded AWS uses for every SDK and optimized SageMaker task;
``raisable`` lists what a task's Resource can fail with, for the definition checks.

References: Step Functions developer guide, "Learning to use AWS service SDK integrations" (error names
``ServiceName.ErrorName``, the ``Exception`` suffix always added); the SDK base exceptions are those of the
AWS SDK for Java that Step Functions' integrations report (``AmazonSageMakerException``,
``AWSApplicationAutoScalingException``).
"""

from __future__ import annotations

import functools

import botocore.session

from sagelane.local.patches import Patch, patch

# Step Functions' service name in a Resource → (error prefix, the SDK's base exception, botocore's name)
SERVICES: dict[str, tuple[str, str, str]] = {
    "sagemaker": ("SageMaker", "AmazonSageMakerException", "sagemaker"),
    "applicationautoscaling": (
        "ApplicationAutoScaling",
        "AWSApplicationAutoScalingException",
        "application-autoscaling",
    ),
    "dynamodb": ("DynamoDb", "AmazonDynamoDBException", "dynamodb"),
    "s3": ("S3", "AmazonS3Exception", "s3"),
    "sns": ("Sns", "AmazonSNSException", "sns"),
    "sfn": ("Sfn", "AWSStepFunctionsException", "stepfunctions"),
    "cloudwatch": ("CloudWatch", "AmazonCloudWatchException", "cloudwatch"),
    "glue": ("Glue", "AWSGlueException", "glue"),
}


@functools.cache
def modeled_errors(botocore_service: str) -> frozenset[str]:
    """The error codes a service's model declares (any operation: the SDK maps them service-wide)."""
    model = botocore.session.get_session().get_service_model(botocore_service)
    return frozenset(shape.error_code or shape.name for shape in model.error_shapes) | frozenset(
        shape.name for shape in model.error_shapes
    )


def _exception(code: str) -> str:
    return code if code.endswith("Exception") else f"{code}Exception"


def task_error(service: str, code: str) -> str:
    """The Error of a task of Step Functions service ``service`` ("sagemaker") failing with ``code``."""
    entry = SERVICES.get(service.lower())
    if entry is None:
        return f"{service}.{_exception(code)}"
    prefix, base, botocore_name = entry
    return f"{prefix}.{_exception(code)}" if code in _safe_modeled(botocore_name) else f"{prefix}.{base}"


def _safe_modeled(botocore_service: str) -> frozenset[str]:
    try:
        return modeled_errors(botocore_service)
    except Exception:  # a service botocore does not know: nothing is modeled
        return frozenset()


def raisable(resource: str) -> set[str] | None:
    """Every Error a Task with this Resource can fail with besides ``States.*`` (None: not a SageMaker-style
    SDK or optimized integration this module knows)."""
    parts = resource.split(":")
    if resource.startswith("arn:aws:states:::aws-sdk:") and len(parts) >= 8:
        service = parts[6]
    elif resource.startswith("arn:aws:states:::sagemaker:"):
        service = "sagemaker"
    else:
        return None
    if service not in SERVICES:
        return None
    prefix, base, botocore_name = SERVICES[service]
    names = {f"{prefix}.{base}"}
    names |= {f"{prefix}.{_exception(code)}" for code in _safe_modeled(botocore_name)}
    return names


def _moto_exception_name(norm_service_name: str, ex: Exception) -> str:
    """moto's ``StateTaskServiceAwsSdk._normalise_exception_name``, naming errors as AWS does."""
    service = next((sfn for sfn, entry in SERVICES.items() if entry[0] == norm_service_name), norm_service_name)
    response = getattr(ex, "response", None) or {}
    code = response.get("Error", {}).get("Code") or type(ex).__name__
    return task_error(service, code)


def _declare() -> Patch:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk,
    )

    return patch(
        aws_sdk.StateTaskServiceAwsSdk,
        "_normalise_exception_name",
        staticmethod(_moto_exception_name),
        lacks="moto names an SDK task's error after botocore's class (SageMaker.SageMakerException)",
        aws="<Service>.<modeled error>Exception, else the SDK's base exception (SageMaker.AmazonSageMakerException)",
    )


ERROR_NAMES = _declare()
