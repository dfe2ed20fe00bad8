"""The SageMaker Model Registry as operators use it: versions, metrics, lineage, approval.

Works against AWS and the embedded AWS. A model's package group is ``sagelane-<env>-<model>``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sagelane import aws, model_metadata
from sagelane.errors import SageLaneError

STATUSES = ("PendingManualApproval", "Approved", "Rejected")


class ModelVersionNotFoundError(SageLaneError):
    """No such version in the model's package group."""


def group_name(env: str, model: str) -> str:
    return f"sagelane-{env}-{model}"


@dataclass
class ModelVersion:
    model: str
    version: int
    status: str
    arn: str
    created: datetime | None
    description: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    model_data: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_versions(env: str, model: str) -> list[ModelVersion]:
    sagemaker = aws.client("sagemaker")
    group = group_name(env, model)
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except sagemaker.exceptions.ClientError as exc:
        if "ValidationException" in str(exc) or "does not exist" in str(exc):
            raise SageLaneError(f"model {model!r} has no package group {group} in environment {env!r}") from None
        raise
    summaries = []
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        page = sagemaker.list_model_packages(**kwargs)
        summaries += page.get("ModelPackageSummaryList", [])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    versions = [describe(env, model, s["ModelPackageArn"]) for s in summaries]
    return sorted(versions, key=lambda v: v.version, reverse=True)


def describe(env: str, model: str, arn: str) -> ModelVersion:
    details = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    metadata = details.get("CustomerMetadataProperties") or {}
    containers = details.get("InferenceSpecification", {}).get("Containers", [])
    return ModelVersion(
        model=model,
        version=int(details.get("ModelPackageVersion") or 0),
        status=details.get("ModelApprovalStatus", "?"),
        arn=arn,
        created=details.get("CreationTime"),
        description=details.get("ModelPackageDescription", ""),
        metrics=model_metadata.metrics(metadata),
        metadata=metadata,
        model_data=containers[0].get("ModelDataUrl") if containers else None,
    )


def get_version(env: str, model: str, version: int) -> ModelVersion:
    for candidate in list_versions(env, model):
        if candidate.version == version:
            return candidate
    raise ModelVersionNotFoundError(f"{model} has no version {version} (see `sagelane models list {model}`)")


def champion(env: str, model: str) -> ModelVersion | None:
    approved = [v for v in list_versions(env, model) if v.status == "Approved"]
    return approved[0] if approved else None


def set_status(env: str, model: str, version: int, status: str, comment: str | None = None) -> ModelVersion:
    """Approve or reject a version. Only principals with the approver policy may do this in AWS."""
    if status not in ("Approved", "Rejected"):
        raise SageLaneError(f"status must be Approved or Rejected, not {status!r}")
    target = get_version(env, model, version)
    if target.status == status:
        raise SageLaneError(f"{model} version {version} is already {status}")
    kwargs: dict[str, Any] = {"ModelPackageArn": target.arn, "ModelApprovalStatus": status}
    if comment:
        kwargs["ApprovalDescription"] = comment[:1024]
    # Sent back unchanged: some implementations (moto) drop metadata an update does not repeat.
    if target.metadata:
        kwargs["CustomerMetadataProperties"] = target.metadata
    aws.client("sagemaker").update_model_package(**kwargs)
    return describe(env, model, target.arn)
