"""What the train workflow's functions read from their environment (set by the Training stack)."""

from __future__ import annotations

import json
import os
from typing import Any

from sagelane import settings
from sagelane.config import ModelConfig
from sagelane.errors import UnknownModelError
from sagelane.training.steps import Buckets


def models() -> dict[str, dict[str, Any]]:
    return json.loads(settings.required(settings.MODELS))


def model(name: str) -> tuple[ModelConfig, dict[str, str]]:
    """The model's config and its image URIs (``training_image``, ``inference_image``)."""
    entry = models().get(name)
    if entry is None:
        known = ", ".join(sorted(models())) or "none"
        raise UnknownModelError(f"unknown model {name!r}; this deployment trains: {known}")
    images = {k: entry.pop(k) for k in ("training_image", "inference_image")}
    return ModelConfig.model_validate(entry), images


def buckets() -> Buckets:
    return Buckets(
        curated=settings.required(settings.CURATED_BUCKET), artifacts=settings.required(settings.ARTIFACTS_BUCKET)
    )


def environment() -> str:
    return settings.required(settings.ENVIRONMENT)


def group(model_name: str) -> str:
    from sagelane.registry import group_name

    return group_name(environment(), model_name)


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
