"""Step Functions service integrations moto's interpreter lacks, run locally.

``arn:aws:states:::sagemaker:createTrainingJob(.sync)``: moto lists SageMaker as unsupported in its ASL
interpreter, and its own ``create_training_job`` completes at once without running anything. Here the
job really runs (``sagelane.local.sagemaker.run_job``: the training entry point in a subprocess, outputs
uploaded as SageMaker uploads them), is recorded in moto, and the task's output is the job's
``DescribeTrainingJob``, as in the cloud; a failed job fails the task with ``States.TaskFailed`` and
the description (with its ``FailureReason``) as the cause.

These classes subclass moto's private interpreter classes (pinned moto; see the canary test).
"""

from __future__ import annotations

import json
import logging

from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from sagelane.local.sagemaker import run_job

log = logging.getLogger("sagelane.local")

CREATE_TRAINING_JOB_PARAMETERS = {
    "TrainingJobName",
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
    "Tags",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "DebugHookConfig",
    "DebugRuleConfigurations",
    "TensorBoardOutputConfig",
    "ExperimentConfig",
    "ProfilerConfig",
    "ProfilerRuleConfigurations",
    "Environment",
    "RetryStrategy",
    "RemoteDebugConfig",
    "InfraCheckConfig",
    "SessionChainingConfig",
}


class LocalSageMakerService(StateTaskServiceCallback):
    def __init__(self) -> None:
        super().__init__(supported_integration_patterns={ResourceCondition.Sync})

    def _get_supported_parameters(self) -> set[str] | None:
        return CREATE_TRAINING_JOB_PARAMETERS

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:
        action = self._get_boto_service_action()
        if action != "create_training_job":
            raise RuntimeError(f"sagemaker:{action} is not run locally (only createTrainingJob)")
        region = resource_runtime_part.region
        s3 = boto_client_for(region=region, service="s3", state_credentials=state_credentials)
        sagemaker = boto_client_for(region=region, service="sagemaker", state_credentials=state_credentials)
        name = normalised_parameters["TrainingJobName"]
        log.info(
            "training job %s: running %s locally",
            name,
            normalised_parameters.get("HyperParameters", {}).get("sagemaker_program"),
        )
        outcome = run_job(s3, normalised_parameters)
        sagemaker.create_training_job(**normalised_parameters)
        description = json.loads(json.dumps(sagemaker.describe_training_job(TrainingJobName=name), default=str))
        description.pop("ResponseMetadata", None)
        description["TrainingJobStatus"] = outcome.status
        description["ModelArtifacts"] = {"S3ModelArtifacts": outcome.model_artifact or ""}
        if outcome.failure_reason:
            description["FailureReason"] = outcome.failure_reason
        log.info("training job %s: %s in %.1f s", name, outcome.status, outcome.seconds)
        env.stack.append(description)

    def _eval_integration_pattern(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:
        description = env.stack.pop()  # the job already ran to its end
        if description["TrainingJobStatus"] != "Completed":
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(
                        taskFailedEventDetails=TaskFailedEventDetails(
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                            error=StatesErrorNameType.StatesTaskFailed.to_name(),
                            cause=to_json_str(description),
                        )
                    ),
                )
            )
        env.stack.append(description)


_original = state_task_service_factory.state_task_service_for


def _service_for(service_name: str):
    if service_name == "sagemaker":
        return LocalSageMakerService()
    return _original(service_name)


def install() -> None:
    """Route the interpreter's SageMaker tasks here (idempotent), and name AWS SDK integrations as AWS does.

    ``aws-sdk:applicationautoscaling:*`` is boto3's ``application-autoscaling``; SDK errors are named
    ``SageMaker.<Exception>`` / ``ApplicationAutoScaling.<Exception>`` (moto would lower-case them).
    """
    state_task_factory.state_task_service_for = _service_for  # type: ignore[assignment]
    state_task_service_factory.state_task_service_for = _service_for  # type: ignore[assignment]
    StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES["applicationautoscaling"] = "application-autoscaling"  # type: ignore[index]
    aws_sdk._SERVICE_ERROR_NAMES.update({"sagemaker": "SageMaker", "applicationautoscaling": "ApplicationAutoScaling"})
