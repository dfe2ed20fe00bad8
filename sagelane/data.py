"""Putting data into a deployed lake (AWS or the embedded AWS): ``sagelane data push``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sagelane import aws
from sagelane.errors import SageLaneError
from sagelane.runs import parameter
from sagelane.settings import INCOMING_PREFIX

MAX_SINGLE_PUT = 5 * 1024**3  # S3's limit for one PutObject


@dataclass(frozen=True)
class Pushed:
    bucket: str
    key: str
    version_id: str | None
    bytes: int
    at: datetime

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def raw_bucket(env: str) -> str:
    return parameter(f"/sagelane/{env}/lake/raw-bucket")


def push(env: str, dataset: str, path: Path, *, name: str | None = None) -> Pushed:
    """Upload ``path`` under ``incoming/<dataset>/`` in the raw zone; returns the new object version."""
    if not path.is_file():
        raise SageLaneError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_SINGLE_PUT:
        raise SageLaneError(f"{path} is {size / 1024**3:.1f} GiB: above what one upload (and the Lambda engine) takes")
    bucket = raw_bucket(env)
    key = f"{INCOMING_PREFIX}/{dataset}/{name or path.name}"
    at = datetime.now(UTC)
    with path.open("rb") as body:
        response = aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return Pushed(bucket=bucket, key=key, version_id=response.get("VersionId"), bytes=size, at=at)
