"""Contract-driven validation of data files: the polars engine (CLI, ingest Lambda) and the Spark engine.

The names below load on first use, so the Spark engine (the Glue job) never imports polars and the
polars engine never imports pyspark.
"""

from __future__ import annotations

from typing import Any

from sagelane.validation.preflight import Limits
from sagelane.validation.report import RuleResult, ValidationReport

_LAZY = {
    "Validation": "sagelane.validation.engine",
    "validate_file": "sagelane.validation.engine",
    "validate_table": "sagelane.validation.engine",
    "read_table": "sagelane.validation.reader",
}

__all__ = ["Limits", "RuleResult", "Validation", "ValidationReport", "read_table", "validate_file", "validate_table"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sagelane.validation' has no attribute {name!r}")
