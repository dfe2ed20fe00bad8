"""``sagelane local serve``: a registered model version behind the container contract on loopback."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from sagelane import aws
from sagelane.errors import SageLaneError
from sagelane.foreground import wait_until_stopped
from sagelane.registry import ModelVersion, champion, describe, get_version
from sagelane.serving.container import LoadedModel, load, make_server, unpack


def _get(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def load_container(container: dict, work_dir: Path, name: str) -> LoadedModel:
    """A SageMaker container definition (ModelDataUrl + SAGEMAKER_SUBMIT_DIRECTORY), loaded as it serves."""
    source = container.get("Environment", {}).get("SAGEMAKER_SUBMIT_DIRECTORY")
    if not source or not container.get("ModelDataUrl"):
        raise SageLaneError(f"{name}: the container names no model data or source directory")
    model_dir = unpack(_get(container["ModelDataUrl"]), work_dir / "model")
    code_dir = unpack(_get(source), work_dir / "code")
    return load(model_dir, code_dir, name=name, environment=container.get("Environment"))


def load_version(env: str, model: str, version: int | None, work_dir: Path) -> tuple[LoadedModel, ModelVersion]:
    """The version (default: the latest Approved), loaded as its serving container would load it."""
    chosen = get_version(env, model, version) if version is not None else champion(env, model)
    if chosen is None:
        raise SageLaneError(f"{model} has no Approved version to serve: approve one, or pass --version")
    package = aws.client("sagemaker").describe_model_package(ModelPackageName=chosen.arn)
    container = package["InferenceSpecification"]["Containers"][0]
    return load_container(container, work_dir, f"{model}-v{chosen.version}"), describe(env, model, chosen.arn)


def serve(*, env: str, model: str, version: int | None, port: int, model_dir: Path | None, code_dir: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="sagelane-serve-") as tmp:
        if model_dir is not None:
            loaded, label = load(model_dir, code_dir, name=model), f"{model} from {model_dir}"
        else:
            loaded, chosen = load_version(env, model, version, Path(tmp))
            label = f"{model} version {chosen.version} ({chosen.status})"
        server = make_server(loaded, port=port)
        host, bound = server.server_address[:2]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(
            f"serving {label} ready at http://{host!s}:{bound}  (GET /ping, POST /invocations; Ctrl-C stops)",
            flush=True,
        )
        try:
            wait_until_stopped()
        finally:
            server.shutdown()
    print("stopped")
    return 0
