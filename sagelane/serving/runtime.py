"""What the deploy workflow's functions read from their environment (set by the Serving stack)."""

from __future__ import annotations

import json

from sagelane import settings
from sagelane.config import ModelConfig
from sagelane.errors import UnknownModelError


def encode(models: list[ModelConfig]) -> str:
    """The value of ``SAGELANE_MODELS`` that :func:`models` reads back (only what the config set: defaults
    re-apply on reading, and settings of the other serving mode never appear)."""
    return json.dumps({m.name: m.model_dump(mode="json", exclude_unset=True) for m in models})


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
