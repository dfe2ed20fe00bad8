"""Step Functions service integrations moto's interpreter lacks, run locally.

``arn:aws:states:::sagemaker:createTrainingJob(.sync)``: moto lists SageMaker as unsupported in its ASL
interpreter, and its own ``create_training_job`` completes at once without running anything. Here the
job really runs (``sagelane.local.sagemaker.run_job``: the training entry point in a subprocess, outputs
uploaded as SageMaker uploads them), is recorded in moto, and the task's output is the job's
``DescribeTrainingJob``, as in the cloud; a failed job fails the task with ``States.TaskFailed`` and
the description (with its ``FailureReason``) as the cause.

``arn:aws:states:::glue:startJobRun.sync``: moto's Glue records runs without running anything. Here the
job's script runs with local PySpark (``sagelane.local.glue.run_job``) and the task's output is the
run's ``GetJobRun`` description; a failed run fails the task with ``States.TaskFailed``.

These classes subclass moto's private interpreter classes (pinned moto; see the canary test).
"""

from __future__ import annotations

import datetime
import importlib
import json
import logging
import uuid
from typing import Any

from botocore.config import Config
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
    IsTimestamp,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils import boto_client as moto_boto_client
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from sagelane import aws
from sagelane.local import faults, gate, sfn_errors, sfn_results
from sagelane.local import glue as local_glue
from sagelane.local.patches import apply, patch, patch_item, undo
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
        # moto annotates the set as holding the class; its members are its string constants
        super().__init__(supported_integration_patterns={ResourceCondition.Sync})  # type: ignore[arg-type]

    def _get_supported_parameters(self) -> set[str] | None:
        return CREATE_TRAINING_JOB_PARAMETERS

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:
        action = self._get_boto_service_action()
        if action != "create_training_job":
            raise RuntimeError(f"sagemaker:{action} is not run locally (only createTrainingJob)")
        fault = faults.take("sagemaker", "CreateTrainingJob", normalised_parameters)
        if fault is not None:  # as Step Functions reports a SageMaker API error of an optimised integration
            cause = f"{fault.message} (Service: AmazonSageMaker; Status Code: {fault.status}; Error Code: {fault.code})"
            raise _task_failed(self, env, cause, error=sfn_errors.task_error("sagemaker", fault.code))
        region = resource_runtime_part.region
        sagemaker = client_for(region=region, service="sagemaker", state_credentials=state_credentials)
        # the job reads its channels and writes its model as its own role, not the state machine's
        job_role = StateCredentials(role_arn=normalised_parameters.get("RoleArn", ""))
        s3 = client_for(region=region, service="s3", state_credentials=job_role)
        name = normalised_parameters["TrainingJobName"]
        log.info(
            "training job %s: running %s locally",
            name,
            normalised_parameters.get("HyperParameters", {}).get("sagemaker_program"),
        )
        # created (validated and authorized: the call, iam:PassRole of its role) before it runs, as SageMaker
        sagemaker.create_training_job(**normalised_parameters)
        outcome = run_job(s3, normalised_parameters)
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
            raise _task_failed(self, env, description)
        env.stack.append(description)


def _task_failed(
    service: StateTaskService, env, description: dict | str, error: str | None = None
) -> FailureEventException:
    """``States.TaskFailed`` with the job's description as the cause, as the service's .sync task fails
    (or, given ``error``, that service error: e.g. ``SageMaker.AmazonSageMakerException`` when throttled)."""
    name = error or StatesErrorNameType.StatesTaskFailed.to_name()
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=CustomErrorName(name) if error else StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]  # moto's TypedDict is total; AWS sends one key
                taskFailedEventDetails=TaskFailedEventDetails(
                    resource=service._get_sfn_resource(),
                    resourceType=service._get_sfn_resource_type(),
                    error=name,
                    cause=description if isinstance(description, str) else to_json_str(description),
                )
            ),
        )
    )


START_JOB_RUN_PARAMETERS = {
    "JobName",
    "JobRunId",
    "JobRunQueuingEnabled",
    "Arguments",
    "AllocatedCapacity",
    "Timeout",
    "MaxCapacity",
    "SecurityConfiguration",
    "NotificationProperty",
    "WorkerType",
    "NumberOfWorkers",
    "ExecutionClass",
}


class LocalGlueService(StateTaskServiceCallback):
    def __init__(self) -> None:
        # moto annotates the set as holding the class; its members are its string constants
        super().__init__(supported_integration_patterns={ResourceCondition.Sync})  # type: ignore[arg-type]

    def _get_supported_parameters(self) -> set[str] | None:
        return START_JOB_RUN_PARAMETERS

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:
        action = self._get_boto_service_action()
        if action != "start_job_run":
            raise RuntimeError(f"glue:{action} is not run locally (only startJobRun)")
        region = resource_runtime_part.region
        glue = client_for(region=region, service="glue", state_credentials=state_credentials)
        name = normalised_parameters["JobName"]
        # the job's definition as Glue itself reads it (not a call of the workflow's role)
        job = client_for(region, "glue").get_job(JobName=name)["Job"]
        log.info("glue job %s: running %s locally", name, job["Command"]["ScriptLocation"])
        # the run fetches its script and does its work as the job's role, as Glue assumes it
        job_role = StateCredentials(role_arn=job.get("Role", ""))
        outcome = local_glue.run_job(
            client_for(region=region, service="s3", state_credentials=job_role),
            job,
            normalised_parameters.get("Arguments", {}),
            environment=credentials_of(job_role),
        )
        run_id = glue.start_job_run(JobName=name, Arguments=normalised_parameters.get("Arguments", {}))["JobRunId"]
        description = {
            "Id": run_id,
            "JobName": name,
            "JobRunState": outcome.state,
            "ExecutionTime": round(outcome.seconds),
            "Arguments": normalised_parameters.get("Arguments", {}),
        }
        if outcome.error:
            description["ErrorMessage"] = outcome.error
        log.info("glue job %s: %s in %.1f s", name, outcome.state, outcome.seconds)
        env.stack.append(description)

    def _eval_integration_pattern(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:
        description = env.stack.pop()  # the run already ended
        if description["JobRunState"] != "SUCCEEDED":
            raise _task_failed(self, env, description)
        env.stack.append(description)


class LocalStepFunctionsService(StateTaskServiceSfn):
    """``states:startExecution(.sync/.sync:2)`` as Step Functions runs it.

    moto hands botocore the ASL's names (``StateMachineArn``, ``Input``, ``Name``) where the API has
    ``stateMachineArn`` / ``input`` / ``name``, passes a ``Name`` of None when the task names none (Step
    Functions makes a UUID), and reads the answer as ``ExecutionArn`` / ``StartDate`` where botocore gives
    ``executionArn`` / ``startDate`` (and a datetime the history cannot hold).
    """

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None) -> None:
        super()._normalise_parameters(parameters, boto_service_name, service_action_name)
        if service_action_name is None:
            for key in list(parameters):
                value = parameters.pop(key)
                if value is not None:
                    parameters[key[0].lower() + key[1:]] = value
            parameters.setdefault("name", str(uuid.uuid4()))  # as Step Functions names an unnamed run

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:
        super()._eval_service_task(env, resource_runtime_part, normalised_parameters, state_credentials)
        env.stack.append(_as_step_functions_output(env.stack.pop()))

    def _eval_integration_pattern(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:
        super()._eval_integration_pattern(env, resource_runtime_part, normalised_parameters, state_credentials)
        env.stack.append(_as_step_functions_output(env.stack.pop()))


def _as_step_functions_output(response: object) -> object:
    """An API answer as the integration hands it over: PascalCase names, dates as text."""
    response = json.loads(json.dumps(response, default=str))
    if isinstance(response, dict):
        return {k[:1].upper() + k[1:]: v for k, v in response.items()}
    return response


def credentials_of(state_credentials: StateCredentials) -> dict[str, str]:
    """The environment a process running as that role gets (nothing where IAM is not enforced)."""
    authority = gate.authority()
    if authority is None or not state_credentials.role_arn:
        return {}
    return authority.credentials(state_credentials.role_arn)


def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's ``boto_client_for``, signing as the task's role (``state_credentials``: the state machine's
    RoleArn, or a task's Credentials) where the embedded AWS enforces IAM, as Step Functions assumes it.
    Clients are shared (moto makes one per call, from boto3's default session, in every interpreter thread
    at once: slow, and that session is not thread-safe)."""
    authority = gate.authority()
    role = getattr(state_credentials, "role_arn", None)
    if authority is None or not role:
        credentials = {"AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk"}  # moto's placeholders
    else:
        credentials = authority.credentials(role)
    endpoint = None
    if not moto_boto_client.botocore_stubber.enabled:
        endpoint = f"http://localhost:{moto_boto_client.moto_server_port()}"
    return aws.client_as(service, credentials, region=region, config=_TASK_CONFIG, endpoint_url=endpoint)


_TASK_CONFIG = Config(  # as moto's boto_client_for configures its clients
    parameter_validation=False,
    retries={"max_attempts": 0, "total_max_attempts": 1},
    connect_timeout=moto_boto_client.TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
    read_timeout=moto_boto_client.TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
)


_TASK_MODULES = [
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    *(
        f"moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_{name}"
        for name in ("unsupported", "glue", "events", "ecs", "sqs", "sfn", "dynamodb", "batch", "sns", "aws_sdk")
    ),
]
CLIENTS = [
    patch(
        importlib.import_module(module),
        "boto_client_for",
        client_for,
        lacks="moto's interpreter signs every task's call with fixed credentials",
        aws="a task calls as the state machine's role (or its Credentials.RoleArn)",
    )
    for module in _TASK_MODULES
]


def _service_for(service_name: str):
    if service_name == "sagemaker":
        return LocalSageMakerService()
    if service_name == "glue":
        return LocalGlueService()
    if service_name == "states":
        return LocalStepFunctionsService()
    return SERVICE_FOR[0].original(service_name)


def _sdk_task_with_text_bodies(self, env, *args, **kwargs) -> None:
    """AWS SDK tasks as Step Functions runs them: a streamed ``Body`` (s3:getObject) is handed over as text."""
    TEXT_BODIES.original(self, env, *args, **kwargs)
    response = env.stack[-1]
    if isinstance(response, dict) and hasattr(response.get("Body"), "read"):
        response["Body"] = response["Body"].read().decode("utf-8")


def rfc3339_timestamp(text: str) -> datetime.datetime | None:
    """A timestamp as Step Functions' Timestamp* comparisons read it: RFC 3339, fractional seconds and offsets
    allowed (moto reads only ``%Y-%m-%dT%H:%M:%SZ``, which its own ``$$.State.EnteredTime`` is not)."""
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else None


_LOCAL_TASKS = "the Task states' SageMaker and Glue integrations (and startExecution.sync:2) run locally"
SERVICE_FOR = [
    patch(
        module,
        "state_task_service_for",
        _service_for,
        lacks="moto's interpreter has no SageMaker or Glue job integration (and names startExecution.sync:2 "
        'runs "None")',
        aws=_LOCAL_TASKS,
    )
    for module in (state_task_factory, state_task_service_factory)
]
TEXT_BODIES = patch(
    aws_sdk.StateTaskServiceAwsSdk,
    "_eval_service_task",
    _sdk_task_with_text_bodies,
    lacks="moto hands an aws-sdk s3:getObject Body over as a stream",
    aws="the Body is text",
)
_PATCHES = [
    patch(
        IsTimestamp,
        "string_to_timestamp",
        staticmethod(rfc3339_timestamp),
        lacks="moto reads only %Y-%m-%dT%H:%M:%SZ, which its own $$.State.EnteredTime is not",
        aws="Timestamp* comparisons read RFC 3339 (fractional seconds, offsets)",
    ),
    TEXT_BODIES,
    *SERVICE_FOR,
    patch_item(
        StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES,
        "applicationautoscaling",
        "application-autoscaling",
        where="StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES",
        lacks="moto has no boto3 name for aws-sdk:applicationautoscaling",
        aws="aws-sdk:applicationautoscaling:* calls Application Auto Scaling",
    ),
    *(
        patch_item(
            aws_sdk._SERVICE_ERROR_NAMES,
            name,
            prefix,
            where="state_task_service_aws_sdk._SERVICE_ERROR_NAMES",
            lacks="moto names an SDK task's errors after botocore's lower-cased service name",
            aws="an SDK task's errors are named as Step Functions names them: <Service>.<Exception> (sfn_errors.py)",
        )
        for name, (prefix, _, _) in sfn_errors.SERVICES.items()
    ),
    sfn_errors.ERROR_NAMES,
    *CLIENTS,
    sfn_results.RESULT_WRITER,
]


def install() -> None:
    """Route the interpreter's SageMaker and Glue tasks here (idempotent), and run AWS SDK tasks as AWS does.

    ``aws-sdk:applicationautoscaling:*`` is boto3's ``application-autoscaling``; SDK errors are named
    ``SageMaker.<Exception>`` / ``ApplicationAutoScaling.<Exception>`` (moto would lower-case them); an
    object's body is text, not a stream; Choice states compare context timestamps (``EnteredTime``) as AWS
    does, which the training workflow's coalescing relies on.
    """
    apply(_PATCHES)


def uninstall() -> None:
    undo(_PATCHES)
