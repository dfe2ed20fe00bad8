"""The train workflow's steps as plain functions: prepare, evaluate, register.

- **prepare**: read the dataset's curated partitions, record their lineage (URI, version, sha256),
  split deterministically, write the channels (and the contract) for the training job, and look up the
  champion (latest Approved version) whose metrics the candidate must match;
- **evaluate**: read the metrics the training job wrote and decide: thresholds met, and not worse than
  the champion beyond the configured tolerance;
- **register**: create the model package (PendingManualApproval, or Approved where the environment
  auto-approves) with its metrics, inference container and lineage.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagelane import model_metadata
from sagelane.config import ModelConfig, has_instance_storage
from sagelane.contract import Contract
from sagelane.errors import SageLaneError
from sagelane.settings import CURATED_DATA_PREFIX
from sagelane.training.images import RUNTIMES, framework_for
from sagelane.training.prepare import split

LOWER_IS_BETTER = {"log_loss", "rmse", "mae"}


class NoCuratedDataError(SageLaneError):
    """The dataset has no curated data to train on yet."""


@dataclass(frozen=True)
class Buckets:
    curated: str
    artifacts: str


def run_prefix(model: str, run_id: str) -> str:
    return f"training/{model}/{run_id}/"


# --- prepare -------------------------------------------------------------------------------------


def prepare(
    *, s3: Any, sagemaker: Any, model: ModelConfig, contract: Contract, buckets: Buckets, run_id: str, group: str
) -> dict[str, Any]:
    import polars as pl

    prefix = f"{CURATED_DATA_PREFIX}/{model.dataset}/"
    objects = [o for o in _list(s3, buckets.curated, prefix) if o["Key"].endswith(".parquet")]
    if not objects:
        raise NoCuratedDataError(f"no curated data for {model.dataset} under s3://{buckets.curated}/{prefix}")
    frames, lineage = [], []
    with tempfile.TemporaryDirectory(prefix="sagelane-") as tmp:
        for i, item in enumerate(sorted(objects, key=lambda o: o["Key"])):
            response = s3.get_object(Bucket=buckets.curated, Key=item["Key"])
            body = response["Body"].read()
            local = Path(tmp) / f"{i}.parquet"
            local.write_bytes(body)
            frames.append(pl.read_parquet(local))
            lineage.append(
                {
                    "uri": f"s3://{buckets.curated}/{item['Key']}",
                    "version_id": response.get("VersionId"),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "rows": frames[-1].height,
                }
            )
        data = pl.concat(frames, how="diagonal_relaxed")
        parts = split(data, contract, seed=int(model.hyperparameters.get("seed", 42)))
        base = run_prefix(model.name, run_id)
        channels = {}
        for name, part in parts.items():
            key = f"{base}channels/{name}/{name}.parquet"
            buffer = io.BytesIO()
            part.write_parquet(buffer)
            s3.put_object(Bucket=buckets.artifacts, Key=key, Body=buffer.getvalue())
            channels[name] = f"s3://{buckets.artifacts}/{base}channels/{name}/"
        contract_json = json.dumps(contract.model_dump(mode="json"), indent=1)
        s3.put_object(
            Bucket=buckets.artifacts, Key=f"{base}channels/contract/contract.json", Body=contract_json.encode()
        )
        channels["contract"] = f"s3://{buckets.artifacts}/{base}channels/contract/"
    lineage_doc = {
        "dataset": model.dataset,
        "contract_version": contract.version,
        "contract_sha256": contract.fingerprint,
        "data": lineage,
        "rows": {name: part.height for name, part in parts.items()},
        "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    lineage_bytes = json.dumps(lineage_doc, indent=1).encode()
    s3.put_object(Bucket=buckets.artifacts, Key=f"{base}lineage.json", Body=lineage_bytes)
    champion = champion_of(sagemaker, group)
    lineage_summary = {
        "lineage": f"s3://{buckets.artifacts}/{base}lineage.json",
        "lineage_sha256": hashlib.sha256(lineage_bytes).hexdigest(),
        "files": len(lineage),
        "contract_sha256": contract.fingerprint,
    }
    hyperparameters = {
        "algorithm": model.algorithm,
        **{k: str(v) for k, v in model.hyperparameters.items()},
        "lineage": json.dumps(lineage_summary),
        "champion_metrics": json.dumps(champion["metrics"] if champion else {}),
    }
    return {
        "run_id": run_id,
        "training_job_name": training_job_name(model.name, run_id),
        "channels": channels,
        "output_path": f"s3://{buckets.artifacts}/{base}output/",
        "hyperparameters": hyperparameters,
        "champion": champion,
        "rows": lineage_doc["rows"],
        "lineage": lineage_summary,
    }


def version_code(s3: Any, *, source_uri: str, artifacts: str, model: str, run_id: str) -> str:
    """Copy the training and inference code (the CDK asset of this deployment) beside the run's artifacts,
    and return the copy's URI: the job trains with it and the registered version serves with it, so every
    version keeps its own code (an older version still starts after ``training/`` changes and its asset
    is gone or no longer readable), readable by the roles that read the version's model."""
    bucket, _, key = source_uri.removeprefix("s3://").partition("/")
    target = f"{run_prefix(model, run_id)}code/sourcedir.tar.gz"
    s3.copy_object(Bucket=artifacts, Key=target, CopySource={"Bucket": bucket, "Key": key})
    return f"s3://{artifacts}/{target}"


def training_job_name(model: str, run_id: str) -> str:
    """≤ 63 characters, [a-zA-Z0-9-], unique per run."""
    return f"{model[:40]}-{run_id[:22]}".rstrip("-")


def champion_of(sagemaker: Any, group: str) -> dict[str, Any] | None:
    """The latest Approved version of the group, with its metrics (None when there is none)."""
    response = sagemaker.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    packages = response.get("ModelPackageSummaryList", [])
    if not packages:
        return None
    arn = packages[0]["ModelPackageArn"]
    details = sagemaker.describe_model_package(ModelPackageName=arn)
    metadata = details.get("CustomerMetadataProperties", {})
    return {
        "arn": arn,
        "version": details.get("ModelPackageVersion"),
        "metrics": model_metadata.metrics(metadata),
    }


def _list(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o for page in pages for o in page.get("Contents", [])]


# --- evaluate ------------------------------------------------------------------------------------


def read_job_metrics(s3: Any, output_path: str, job_name: str) -> dict[str, Any]:
    """metrics.json from the job's ``output/output.tar.gz`` (SageMaker packs SM_OUTPUT_DATA_DIR there)."""
    bucket, prefix = output_path.removeprefix("s3://").split("/", 1)
    key = f"{prefix}{job_name}/output/output.tar.gz"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        member = tar.extractfile("metrics.json")
        if member is None:
            raise SageLaneError(f"s3://{bucket}/{key} holds no metrics.json")
        return json.loads(member.read())


def decide(result: dict[str, Any], champion: dict[str, Any] | None, tolerance: float) -> tuple[bool, str]:
    """(accepted, reason) for a candidate: thresholds first, then the champion's primary metric."""
    if result.get("threshold_misses"):
        return False, "below the contract's thresholds: " + "; ".join(result["threshold_misses"])
    metric = result["primary_metric"]
    candidate = result["metrics"].get(metric)
    if candidate is None:
        return False, f"the primary metric {metric} was not measured"
    reference = (champion or {}).get("metrics", {}).get(metric)
    if champion is None or reference is None:
        return True, f"{metric} {candidate:.4f} meets the thresholds; no champion to beat"
    lower = metric in LOWER_IS_BETTER
    ok = candidate <= reference + tolerance if lower else candidate >= reference - tolerance
    comparison = (
        f"{metric} {candidate:.4f} vs champion v{champion.get('version')} {reference:.4f} (tolerance {tolerance})"
    )
    return ok, ("not worse than the champion: " if ok else "worse than the champion: ") + comparison


def evaluate(*, s3: Any, prepared: dict[str, Any], model: ModelConfig) -> dict[str, Any]:
    result = read_job_metrics(s3, prepared["output_path"], prepared["training_job_name"])
    accepted, reason = decide(result, prepared.get("champion"), model.champion_tolerance)
    key_metrics = {k: v for k, v in result["metrics"].items() if isinstance(v, int | float)}
    return {
        "accepted": accepted,
        "reason": reason,
        "primary_metric": result["primary_metric"],
        "metrics": key_metrics,
        "onnx": result.get("onnx", {}),
    }


# --- register ------------------------------------------------------------------------------------


def register(
    *,
    s3: Any,
    sagemaker: Any,
    prepared: dict[str, Any],
    evaluation: dict[str, Any],
    training_job: dict[str, Any],
    group: str,
    model: ModelConfig,
    inference_image: str,
    auto_approve: bool,
    code_version: str,
    trigger: str | None = None,
) -> dict[str, Any]:
    model_data = training_job["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, prefix = prepared["output_path"].removeprefix("s3://").split("/", 1)
    metrics_key = f"{prefix}{prepared['training_job_name']}/evaluation/metrics.json"
    s3.put_object(
        Bucket=bucket,
        Key=metrics_key,
        Body=json.dumps(evaluation["metrics"], indent=1).encode(),
        ContentType="application/json",
    )
    hyperparameters = {k: v for k, v in prepared["hyperparameters"].items() if k not in ("lineage", "champion_metrics")}
    # the whole record of the decision, beside the metrics SageMaker shows (ModelQuality statistics)
    evaluation_key = f"{prefix}{prepared['training_job_name']}/evaluation/registration.json"
    s3.put_object(
        Bucket=bucket,
        Key=evaluation_key,
        Body=json.dumps(
            {"decision": evaluation["reason"], "metrics": evaluation["metrics"], "hyperparameters": hyperparameters},
            indent=1,
        ).encode(),
        ContentType="application/json",
    )
    entries = {
        "dataset": model.dataset,
        "algorithm": model.algorithm,
        "decision": evaluation["reason"],
        "evaluation": f"s3://{bucket}/{evaluation_key}",
        "lineage": prepared["lineage"]["lineage"],
        "lineage_sha256": prepared["lineage"]["lineage_sha256"],
        "contract_sha256": prepared["lineage"]["contract_sha256"],
        "code_version": code_version,
        "training_job": prepared["training_job_name"],
        "trigger": trigger or "manual",
        "alarm": prepared.get("alarm"),  # retraining started by a drift or quality alarm: which one
    }
    metadata = model_metadata.encode(entries, evaluation["metrics"])
    status = "Approved" if auto_approve else "PendingManualApproval"
    # The serving container loads inference.py from the same source directory the job trained with.
    serving_env = {"SAGEMAKER_PROGRAM": "inference.py", **RUNTIMES[framework_for(model.algorithm)].serving_environment}
    source = prepared.get("job", {}).get("hyperparameters", {}).get("sagemaker_submit_directory")
    if source:
        serving_env["SAGEMAKER_SUBMIT_DIRECTORY"] = source
    response = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"{model.name}: {evaluation['reason']}"[:1024],
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": inference_image,
                    "ModelDataUrl": model_data,
                    "Environment": serving_env,
                }
            ],
            "SupportedContentTypes": ["application/json", "text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelMetrics={
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/{metrics_key}"}}
        },
        CustomerMetadataProperties=metadata,
    )
    arn = response["ModelPackageArn"]
    version = sagemaker.describe_model_package(ModelPackageName=arn).get("ModelPackageVersion")
    return {"model_package_arn": arn, "version": version, "status": status}


def publish_version_metrics(cloudwatch: Any, *, env: str, model: str, metrics: dict[str, Any]) -> None:
    """Each registered version's evaluation metrics as ``VersionMetric`` (dimensions Model, Metric): one data
    point per version, so a dashboard graph reads as the model's metrics version after version."""
    data = [
        {
            "MetricName": "VersionMetric",
            "Dimensions": [{"Name": "Model", "Value": model}, {"Name": "Metric", "Value": name}],
            "Value": float(value),
        }
        for name, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and name != "rows"
    ]
    if data:
        cloudwatch.put_metric_data(Namespace=f"SageLane/{env}", MetricData=data)


# --- the training job request --------------------------------------------------------------------


def job_request(
    prepared: dict[str, Any], *, model: ModelConfig, image: str, source_uri: str, kms_key: str, region: str
) -> dict[str, Any]:
    """The varying parts of CreateTrainingJob (the state machine adds the fixed role and tags)."""
    resources: dict[str, Any] = {
        "InstanceType": model.instance_type,
        "InstanceCount": model.instance_count,
        "VolumeSizeInGB": model.volume_gb,
    }
    if not has_instance_storage(model.instance_type):
        resources["VolumeKmsKeyId"] = kms_key
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": model.max_runtime_s}
    if model.spot:
        stopping["MaxWaitTimeInSeconds"] = model.max_wait_s
    hyperparameters = {
        **prepared["hyperparameters"],
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": source_uri,
        "sagemaker_region": region,
    }
    return {
        "image": image,
        "hyperparameters": hyperparameters,
        "input_data_config": [
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for name, uri in prepared["channels"].items()
        ],
        "resource_config": resources,
        "stopping_condition": stopping,
        "spot": model.spot,
    }
