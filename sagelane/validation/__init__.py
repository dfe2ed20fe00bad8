"""Contract-driven validation of data files (one engine for the CLI and the ingest Lambda)."""

from sagelane.validation.engine import Validation, validate_file, validate_table
from sagelane.validation.preflight import Limits
from sagelane.validation.reader import read_table
from sagelane.validation.report import RuleResult, ValidationReport

__all__ = ["Limits", "RuleResult", "Validation", "ValidationReport", "read_table", "validate_file", "validate_table"]
