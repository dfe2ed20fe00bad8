"""SageMaker endpoints on the embedded AWS: ``InvokeEndpoint`` answered by the real inference code.

moto's runtime returns canned bodies. Here its ``InvokeEndpoint`` handler is replaced: the endpoint is
followed to its config and model (a container, or a model package's container), the model artifact and
its source directory are loaded as the framework container loads them (once per model, cached), and the
request goes through ``input_fn`` / ``predict_fn`` / ``output_fn``. A request the model rejects is a
``ModelError`` carrying the model's 4xx status and message, as SageMaker reports it.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from sagelane import aws
from sagelane.environ import thread_environment
from sagelane.local import gate
from sagelane.local.patches import patch
from sagelane.monitoring.capture import capture_line, capture_prefix
from sagelane.serving.container import LoadedModel
from sagelane.serving.local import load_container

log = logging.getLogger("sagelane.local")


class LocalEndpoints:
    def __init__(self) -> None:
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="sagelane-endpoints-")
        self.invocations: dict[str, int] = {}
        self._captured: dict[str, int] = {}

    def _container(self, sagemaker: Any, endpoint: str) -> tuple[str, dict[str, Any], str, dict[str, Any], str]:
        """(Model name, its container, the variant, the config's DataCaptureConfig or {}, the model's
        execution role)."""
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        variant = config["ProductionVariants"][0]
        model = sagemaker.describe_model(ModelName=variant["ModelName"])
        container = model.get("PrimaryContainer") or model["Containers"][0]
        if "ModelPackageName" in container:
            # the package's container, with the Model's own environment over the package's (as SageMaker does)
            package = sagemaker.describe_model_package(ModelPackageName=container["ModelPackageName"])
            own = container.get("Environment") or {}
            container = dict(package["InferenceSpecification"]["Containers"][0])
            container["Environment"] = {**container.get("Environment", {}), **own}
        capture = config.get("DataCaptureConfig") or {}
        return variant["ModelName"], container, variant["VariantName"], capture, model.get("ExecutionRoleArn", "")

    def _capture(
        self,
        region: str,
        endpoint: str,
        variant: str,
        capture: dict[str, Any],
        request: tuple[bytes, str, bytes, str],
        inference_id: str | None,
        role: str,
    ) -> None:
        """What SageMaker data capture does for ``capture`` (an endpoint config's DataCaptureConfig): keep
        ``InitialSamplingPercentage`` of the requests, as JSON Lines under
        ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` (one object per request here)."""
        if not capture.get("EnableCapture"):
            return
        percent = float(capture.get("InitialSamplingPercentage", 100))
        with self._lock:
            seen = self._captured[endpoint] = self._captured.get(endpoint, 0) + 1
        if int(seen * percent / 100) == int((seen - 1) * percent / 100):
            return  # not in the sample
        body, content_type, output, accept = request
        now = datetime.now(UTC)
        line = capture_line(
            body, content_type, output, accept, event_id=str(uuid.uuid4()), inference_id=inference_id, at=now
        )
        bucket, _, prefix = capture["DestinationS3Uri"].removeprefix("s3://").partition("/")
        key = capture_prefix(prefix, endpoint, variant, now) + f"{uuid.uuid4()}.jsonl"
        with thread_environment(_role_environment(role)):  # SageMaker writes the capture as the model's role
            aws.client("s3").put_object(Bucket=bucket, Key=key, Body=line.encode() + b"\n")

    def invoke(
        self, region: str, endpoint: str, body: bytes, content_type: str, accept: str, inference_id: str | None = None
    ) -> tuple[int, dict, bytes]:
        sagemaker = boto3.client("sagemaker", region_name=region)
        try:
            model_name, container, variant, capture, role = self._container(sagemaker, endpoint)
        except sagemaker.exceptions.ClientError:
            message = f"Endpoint {endpoint} of account 123456789012 not found."
            return (
                400,
                {"x-amzn-ErrorType": "ValidationError", "Content-Type": "application/json", "status": "400"},
                json.dumps({"message": message}).encode(),
            )
        with self._lock:
            loaded = self._models.get(model_name)
            if loaded is None:
                work = Path(self._tmp.name) / model_name
                with thread_environment(_role_environment(role)):  # the model and code download as its role
                    loaded = self._models[model_name] = load_container(container, work, model_name)
                log.info("endpoint %s: loaded model %s", endpoint, model_name)
        self.invocations[endpoint] = self.invocations.get(endpoint, 0) + 1
        client_errors = getattr(loaded.module, "InputError", ValueError)
        try:
            payload, returned_type = loaded.invoke(body, content_type, accept)
        except client_errors as exc:
            return _model_error(415 if "content type" in str(exc) else 400, str(exc))
        except Exception as exc:
            return _model_error(500, f"{type(exc).__name__}: {exc}")
        request = (body, content_type, payload, returned_type)
        self._capture(region, endpoint, variant, capture, request, inference_id, role)
        # moto reads the status from the headers, not from the tuple
        return (
            200,
            {"Content-Type": returned_type, "x-Amzn-Invoked-Production-Variant": variant, "status": "200"},
            payload,
        )

    def flush(self) -> None:
        """Write what the models' own capture (serverless endpoints) has buffered, as its timer would."""
        with self._lock:
            loaded = list(self._models.values())
        _flush_capture(loaded)

    def forget(self, model_name: str | None = None) -> None:
        with self._lock:
            names = list(self._models) if model_name is None else [model_name]
            gone = [loaded for name in names if (loaded := self._models.pop(name, None)) is not None]
        _flush_capture(gone, stop=True)  # a container that goes away writes what it captured, then stops


def _role_environment(role: str) -> dict[str, str]:
    """The credentials a container running as ``role`` gets, where the embedded AWS enforces IAM."""
    authority = gate.authority()
    return authority.credentials(role) if authority is not None and role else {}


def _flush_capture(models: list[LoadedModel], *, stop: bool = False) -> None:
    for model in models:
        flush = getattr(model.module, "stop_capture" if stop else "flush_capture", None)
        if flush is None and stop:  # a model of an older version of the code: flushing is what it has
            flush = getattr(model.module, "flush_capture", None)
        if flush is not None:
            flush()


def _model_error(status: int, message: str) -> tuple[int, dict, bytes]:
    """How SageMaker reports a model's own error response: 424 ModelError with the original status."""
    kind = "client" if status < 500 else "server"
    body = {
        "message": f'Received {kind} error ({status}) from model with message "{message}"',
        "OriginalStatusCode": status,
        "OriginalMessage": message,
    }
    headers = {"x-amzn-ErrorType": "ModelError", "Content-Type": "application/json", "status": "424"}
    return 424, headers, json.dumps(body).encode()


_ACTIVE: LocalEndpoints | None = None


def _invoke_endpoint(self: Any) -> Any:
    if _ACTIVE is None:
        return INVOKE.original(self)  # moto's canned behaviour, when no embedded AWS is active
    name = self._get_params().get("EndpointName") or self.path.split("/")[2]
    return _ACTIVE.invoke(
        self.region,
        name,
        self.body if isinstance(self.body, bytes) else str(self.body).encode(),
        self.headers.get("Content-Type") or "application/json",
        self.headers.get("Accept") or "application/json",
        self.headers.get("X-Amzn-SageMaker-Inference-Id"),
    )


INVOKE = patch(
    SageMakerRuntimeResponse,
    "invoke_endpoint",
    _invoke_endpoint,
    lacks="moto answers InvokeEndpoint with canned results",
    aws="the endpoint's container answers (here: the model version's own inference code, in process)",
)


def install(endpoints: LocalEndpoints) -> None:
    """Answer moto's InvokeEndpoint with ``endpoints`` (in-process mocks and the moto server alike)."""
    global _ACTIVE
    _ACTIVE = endpoints
    INVOKE.apply()


def uninstall() -> None:
    global _ACTIVE
    _ACTIVE = None
    INVOKE.undo()
