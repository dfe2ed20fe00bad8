"""SageMaker training jobs run locally: the same entry point, the same environment contract.

A ``CreateTrainingJob`` request is carried out on this machine: its S3 channels are downloaded, its
source directory (``sagemaker_submit_directory``, a tar.gz in S3) is unpacked, the entry point
(``sagemaker_program``) runs in a subprocess through ``sagelane.training.local``, and the outputs are
uploaded where SageMaker puts them: ``<S3OutputPath>/<job>/output/model.tar.gz`` and ``output.tar.gz``.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagelane.training.local import TrainingJobError, run_training

RESERVED = ("sagemaker_program", "sagemaker_submit_directory", "sagemaker_region", "sagemaker_container_log_level")


@dataclass
class JobOutcome:
    status: str  # Completed | Failed
    failure_reason: str | None
    model_artifact: str | None
    seconds: float


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def run_job(s3: Any, request: dict[str, Any]) -> JobOutcome:
    name = request["TrainingJobName"]
    hyperparameters = dict(request.get("HyperParameters", {}))
    program = hyperparameters.get("sagemaker_program", "train.py")
    source = hyperparameters.get("sagemaker_submit_directory")
    output_bucket, output_prefix = split_uri(request["OutputDataConfig"]["S3OutputPath"].rstrip("/") + "/")
    with tempfile.TemporaryDirectory(prefix=f"sagelane-job-{name}-") as tmp:
        work = Path(tmp)
        try:
            source_dir = _source(s3, source, work / "code")
            channels = {
                c["ChannelName"]: _download_prefix(
                    s3, c["DataSource"]["S3DataSource"]["S3Uri"], work / "input" / c["ChannelName"]
                )
                for c in request.get("InputDataConfig", [])
            }
            user_hps = {k: v for k, v in hyperparameters.items() if k not in RESERVED}
            result = run_training(
                source_dir=source_dir,
                channels=channels,
                hyperparameters=user_hps,
                work_dir=work / "job",
                entry_point=program,
                timeout=float(request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 3600)),
            )
        except TrainingJobError as exc:
            return JobOutcome("Failed", f"AlgorithmError: {exc}", None, 0.0)
        except Exception as exc:
            return JobOutcome("Failed", f"ClientError: {type(exc).__name__}: {exc}", None, 0.0)
        model_key = f"{output_prefix}{name}/output/model.tar.gz"
        s3.upload_file(str(result.artifact), output_bucket, model_key)
        s3.put_object(
            Bucket=output_bucket,
            Key=f"{output_prefix}{name}/output/output.tar.gz",
            Body=_tar_folder(work / "job" / "output" / "data"),
        )
        return JobOutcome("Completed", None, f"s3://{output_bucket}/{model_key}", result.seconds)


def _source(s3: Any, uri: str | None, folder: Path) -> Path:
    if not uri:
        raise TrainingJobError("no sagemaker_submit_directory hyperparameter: where is the training code?")
    bucket, key = split_uri(json.loads(uri) if uri.startswith('"') else uri)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")
    return folder


def _download_prefix(s3: Any, uri: str, folder: Path) -> Path:
    bucket, prefix = split_uri(uri)
    folder.mkdir(parents=True, exist_ok=True)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :].lstrip("/") or Path(item["Key"]).name
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
    return folder


def _tar_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()
