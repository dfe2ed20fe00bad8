"""What the deploy workflow's functions read from their environment (set by the Serving stack)."""

from __future__ import annotations

import json

from sagelane import settings
from sagelane.config import ModelConfig
from sagelane.errors import UnknownModelError


def models() -> dict[str, ModelConfig]:
    return {
        name: ModelConfig.model_validate(entry)
        for name, entry in json.loads(settings.required(settings.MODELS)).items()
    }


def model(name: str) -> ModelConfig:
    known = models()
    if name not in known:
        raise UnknownModelError(f"unknown model {name!r}; this deployment serves: {', '.join(sorted(known)) or 'none'}")
    return known[name]
