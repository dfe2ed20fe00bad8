"""A model version's ``CustomerMetadataProperties``: what SageMaker accepts there, and the metrics in it.

SageMaker holds at most 50 entries, keys of 1 to 128 and values of 1 to 256 characters, both matching
``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`` (letters, separators, numbers and ``_ . : / = + - @``): no JSON, no
commas, no parentheses (CreateModelPackage answers ValidationException otherwise; botocore does not check
patterns). So each metric is an entry of its own (``metric:roc_auc`` → ``0.9312``), free text is
reduced to the allowed characters, and what does not fit (hyperparameters, the full decision) lives in
the version's evaluation document on S3, which the metadata names.
"""

from __future__ import annotations

import math
from typing import Any

MAX_ENTRIES = 50
MAX_KEY = 128
MAX_VALUE = 256
METRIC_PREFIX = "metric:"
_ALLOWED = set(" _.:/=+-@")


def text(value: Any, limit: int = MAX_VALUE) -> str:
    """``value`` as metadata text: characters SageMaker refuses become spaces, runs of them one, cut to
    ``limit``; never empty (SageMaker requires at least one character)."""
    out = "".join(ch if ch.isalnum() or ch in _ALLOWED else " " for ch in str(value))
    out = " ".join(out.split())[:limit].strip()
    return out or "-"


def encode(entries: dict[str, Any], metrics: dict[str, Any]) -> dict[str, str]:
    """``entries`` (plain values) and ``metrics`` (numbers) as a valid ``CustomerMetadataProperties``.
    Entries come first; metrics fill the places left (the evaluation document on S3 has them all)."""
    out = {text(k, MAX_KEY): text(v) for k, v in entries.items() if v is not None}
    for name, value in sorted(metrics.items()):
        if len(out) >= MAX_ENTRIES:
            break
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            continue
        out[text(METRIC_PREFIX + name, MAX_KEY)] = repr(float(value)) if isinstance(value, float) else str(value)
    return out


def metrics(metadata: dict[str, str]) -> dict[str, float]:
    """The metrics recorded in a version's metadata."""
    out: dict[str, float] = {}
    for key, value in metadata.items():
        if key.startswith(METRIC_PREFIX):
            try:
                out[key.removeprefix(METRIC_PREFIX)] = float(value)
            except ValueError:
                continue
    return out
