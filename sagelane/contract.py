"""Data contracts: one YAML file per dataset describing what a valid file looks like.

The contract is the single definition of a dataset: the validation engine, curation (PII handling,
curated schema, Glue table), training features and later the inference schema and drift all read it.
See docs/contracts.md for the reference.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sagelane.errors import ContractError

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
FileFormat = Literal["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz"]
ALL_FORMATS: tuple[str, ...] = ("csv", "csv.gz", "parquet", "jsonl", "jsonl.gz")


class ColumnType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"

    @property
    def is_numeric(self) -> bool:
        return self in (ColumnType.INTEGER, ColumnType.FLOAT)

    @property
    def glue_type(self) -> str:
        return _GLUE_TYPES[self]


_GLUE_TYPES = {
    ColumnType.STRING: "string",
    ColumnType.INTEGER: "bigint",
    ColumnType.FLOAT: "double",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.DATE: "date",
    ColumnType.DATETIME: "timestamp",
}


class PiiAction(StrEnum):
    KEEP = "keep"  # not PII, or PII the curated zone may hold as is
    HASH = "hash"  # HMAC-SHA256 with the environment's secret salt: joinable, not reversible
    DROP = "drop"  # never leaves the raw zone


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Scalar = str | int | float | bool


class Column(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    type: ColumnType
    description: str = ""
    nullable: bool = True
    min_non_null_ratio: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    min: float | None = None
    max: float | None = None
    allowed_values: Annotated[list[Scalar], Field(min_length=1)] | None = None
    pattern: str | None = None
    unique: bool = False
    pii: PiiAction = PiiAction.KEEP

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _rules_fit_the_type(self) -> Column:
        if not self.nullable and self.min_non_null_ratio is not None:
            raise ValueError("use either 'nullable: false' or 'min_non_null_ratio', not both")
        if (self.min is not None or self.max is not None) and not self.type.is_numeric:
            raise ValueError(f"'min' / 'max' apply to integer and float columns, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' ({self.min}) is greater than 'max' ({self.max})")
        if self.pattern is not None and self.type is not ColumnType.STRING:
            raise ValueError(f"'pattern' applies to string columns, not {self.type}")
        if self.allowed_values is not None and self.type in (ColumnType.DATE, ColumnType.DATETIME):
            raise ValueError(f"'allowed_values' is not supported for {self.type} columns")
        if self.pii is PiiAction.HASH and self.type is not ColumnType.STRING:
            raise ValueError("'pii: hash' applies to string columns; use 'drop' for other types")
        return self


class Freshness(_Strict):
    column: str
    max_age_days: Annotated[float, Field(gt=0)]


class Rules(_Strict):
    min_rows: Annotated[int, Field(ge=0)] = 1
    max_rows: Annotated[int, Field(ge=1)] | None = None
    max_duplicate_row_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    freshness: Freshness | None = None
    unexpected_columns: Literal["reject", "ignore"] = "reject"
    missing_columns: Literal["reject", "allow_nullable"] = "reject"


class Format(_Strict):
    accepted: Annotated[list[FileFormat], Field(min_length=1)] = ["csv", "csv.gz", "parquet", "jsonl"]
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    null_values: list[str] = ["", "NA", "N/A", "null", "NULL"]


ProblemType = Literal["binary_classification", "multiclass_classification", "regression"]


class Target(_Strict):
    column: str
    problem_type: ProblemType
    primary_metric: str
    thresholds: dict[str, float] = {}


class Contract(_Strict):
    dataset: Annotated[str, Field(pattern=NAME_PATTERN)]
    version: Annotated[int, Field(ge=1)] = 1
    description: str = ""
    owner: str = ""
    format: Format = Format()
    columns: Annotated[list[Column], Field(min_length=1)]
    rules: Rules = Rules()
    target: Target | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        names = [c.name for c in self.columns]
        if duplicates := repeated(names):
            raise ValueError(f"column names must be unique; repeated: {', '.join(duplicates)}")
        by_name = {c.name: c for c in self.columns}
        if self.target is not None:
            target = by_name.get(self.target.column)
            if target is None:
                raise ValueError(f"target column {self.target.column!r} is not one of the columns")
            if target.pii is not PiiAction.KEEP:
                raise ValueError(f"target column {target.name!r} cannot be PII (it would be hashed or dropped)")
        if self.rules.freshness is not None:
            column = by_name.get(self.rules.freshness.column)
            if column is None or column.type not in (ColumnType.DATE, ColumnType.DATETIME):
                raise ValueError(f"freshness column {self.rules.freshness.column!r} must be a date or datetime column")
        if self.rules.max_rows is not None and self.rules.max_rows < self.rules.min_rows:
            raise ValueError("rules.max_rows is smaller than rules.min_rows")
        return self

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def curated_columns(self) -> list[Column]:
        """Columns that reach the curated zone (PII with ``drop`` never does)."""
        return [c for c in self.columns if c.pii is not PiiAction.DROP]

    @property
    def fingerprint(self) -> str:
        """sha256 of the contract's canonical JSON: recorded in reports and model lineage."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def repeated(names: list[str]) -> list[str]:
    """The names that occur more than once, sorted (linear: headers of hostile files can be huge)."""
    return sorted(name for name, n in Counter(names).items() if n > 1)


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line per problem: ``source: field.path: message``."""
    lines = []
    for err in exc.errors():
        location = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {location}: {message}")
    return "\n".join(lines)


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """Parse a YAML file, turning I/O and syntax problems into ``error`` naming the file and line."""
    import yaml  # here, not at module level: the Lambda reads contracts as JSON and never needs it

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}: not valid YAML{where}: {problem}") from None


def load_contract(path: str | Path) -> Contract:
    path = Path(path)
    data = read_yaml(path, ContractError)
    if not isinstance(data, dict):
        raise ContractError(f"{path}: a contract must be a YAML mapping with 'dataset' and 'columns'")
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        raise ContractError(format_validation_error(str(path), exc)) from None
