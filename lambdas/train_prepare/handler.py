"""Prepare a training run: split the curated data, record lineage, find the champion, build the job."""

import uuid
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from sagelane import aws, runtime, settings
from sagelane.training import runtime as training
from sagelane.training.steps import job_request, prepare, version_code

logger = Logger()


class TrainRequest(BaseModel):
    model: str
    trigger: str = "manual"
    execution_input: dict[str, Any] = {}  # the run's whole input (an alarm-started run names its alarm)


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = TrainRequest.model_validate(event)
    model, images = training.model(request.model)
    run_id = f"{context.aws_request_id[:8]}-{uuid.uuid4().hex[:8]}"
    prepared = prepare(
        s3=aws.client("s3"),
        sagemaker=aws.client("sagemaker"),
        model=model,
        contract=runtime.contract(model.dataset),
        buckets=training.buckets(),
        run_id=run_id,
        group=training.group(model.name),
    )
    code = version_code(
        aws.client("s3"),
        source_uri=settings.required(settings.TRAINING_SOURCE_URI),
        artifacts=training.buckets().artifacts,
        model=model.name,
        run_id=run_id,
    )
    prepared["job"] = job_request(
        prepared,
        model=model,
        image=images["training_image"],
        source_uri=code,
        kms_key=settings.required(settings.KMS_KEY_ARN),
        region=training.region(),
    )
    prepared["trigger"] = request.trigger
    if isinstance(request.execution_input.get("alarm"), str):
        prepared["alarm"] = request.execution_input["alarm"]
    return prepared
