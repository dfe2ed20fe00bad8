"""The validation engine: a data contract applied to a table, every rule counted in one pass.

One implementation serves the CLI and the ingest Lambda. All per-column rules and profile figures are
polars expressions evaluated together in a single parallel ``select``; the costly checks are deliberate:
duplicate rows are first counted through 64-bit row hashes (a collision can only over-count), and the
exact count runs only when the hashes report duplicates. Example rows are gathered in a second pass
for failed rules only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import polars as pl

from sagelane.contract import Column, ColumnType, Contract
from sagelane.errors import InputReadError
from sagelane.validation.preflight import DEFAULT_LIMITS, Limits
from sagelane.validation.reader import RawTable, read_table
from sagelane.validation.report import Example, RuleResult, ValidationReport
from sagelane.validation.rules import (
    DATE_TEXT,
    DATETIME_TEXT,
    DUPLICATE_ROWS,
    FALSE_WORDS,
    FLOAT_TEXT,
    HISTOGRAM_BINS,
    INTEGER_TEXT,
    MAX_EXAMPLES,
    PROFILE_SAMPLE_ROWS,
    TOP_VALUES,
    TRUE_WORDS,
    ZONE_TEXT,
    Coercion,
    Kind,
    allowed_values,
    coercion,
    judge,
    profile_of,
)

ENGINE = f"polars {pl.__version__}"
_TARGET_DTYPES: dict[ColumnType, pl.DataType | type[pl.DataType]] = {
    ColumnType.STRING: pl.String,
    ColumnType.INTEGER: pl.Int64,
    ColumnType.FLOAT: pl.Float64,
    ColumnType.BOOLEAN: pl.Boolean,
    ColumnType.DATE: pl.Date,
    ColumnType.DATETIME: pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class Validation:
    """What a validation produced: the report, and (when the file was readable) the typed table."""

    report: ValidationReport
    # Contract columns present in the file, coerced to the contract's types (values that failed
    # coercion are null). ``None`` when the file could not be read.
    frame: pl.DataFrame | None

    @property
    def passed(self) -> bool:
        return self.report.status == "passed"


def validate_file(
    path: str | Path,
    contract: Contract,
    *,
    source: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> Validation:
    """Validate one file against ``contract``. Never raises for bad input: the report says what is wrong."""
    path = Path(path)
    started = time.perf_counter()
    source = source or str(path)
    try:
        table = read_table(path, contract, name=Path(source).name, limits=limits)
    except InputReadError as exc:
        report = ValidationReport.unreadable(
            contract,
            source=source,
            code=exc.code,
            message=exc.message,
            seconds=time.perf_counter() - started,
            engine=ENGINE,
        )
        return Validation(report=report, frame=None)
    return validate_table(table, contract, source=source, now=now, started=started)


def validate_table(
    table: RawTable,
    contract: Contract,
    *,
    source: str,
    now: datetime | None = None,
    started: float | None = None,
) -> Validation:
    started = time.perf_counter() if started is None else started
    frame = table.frame
    rows = frame.height
    present = [c for c in contract.columns if c.name in frame.columns]
    typed_exprs = {c.name: _coerce(c, frame.schema[c.name]) for c in present}
    typed = frame.select(list(typed_exprs.values())) if present else pl.DataFrame()
    counts = _count_everything(frame, typed, present, rows)
    results = judge(contract, table.header, present, counts, rows, now or datetime.now(UTC))
    results = _with_examples(results, frame, typed, contract, table.first_data_line)

    profile = {c.name: profile_of(c, counts) for c in present}
    report = ValidationReport.build(
        contract,
        source=source,
        fmt=table.format,
        rows=rows,
        header=table.header,
        rules=results,
        profile=profile,
        profile_sample_rows=len(range(0, rows, int(counts["\x00sample_step"]))),  # type: ignore[call-overload]
        seconds=time.perf_counter() - started,
        engine=ENGINE,
    )
    return Validation(report=report, frame=typed)


# --- coercion ------------------------------------------------------------------------------------


def kind_of(dtype: pl.DataType) -> Kind:
    """A polars type as one of the kinds the shared coercion table knows."""
    if dtype == pl.String:
        return Kind.TEXT
    if dtype.is_integer():
        return Kind.INTEGER
    if dtype.is_float() or dtype.is_decimal():
        return Kind.FLOAT
    if dtype == pl.Boolean:
        return Kind.BOOLEAN
    if dtype == pl.Date:
        return Kind.DATE
    if isinstance(dtype, pl.Datetime):
        return Kind.DATETIME
    return Kind.OTHER


def _coerce(column: Column, source: pl.DataType) -> pl.Expr:
    """An expression giving ``column`` in its contract type; values that do not convert become null.

    Implements :data:`sagelane.validation.rules.COERCIONS` (the Spark engine implements the same table).
    """
    col = pl.col(column.name)
    target = _TARGET_DTYPES[column.type]
    how = coercion(column.type, kind_of(source))
    if how is Coercion.KEEP:
        return col.cast(target) if source != target else col
    if how is Coercion.NULL:
        return pl.lit(None, dtype=target).alias(column.name)
    if how is Coercion.CAST:
        return col.cast(target, strict=False)
    if how is Coercion.BOOLEAN_WORDS:
        lowered = col.str.strip_chars().str.to_lowercase()
        return (
            pl.when(lowered.is_in(TRUE_WORDS))
            .then(True)
            .when(lowered.is_in(FALSE_WORDS))
            .then(False)
            .otherwise(None)
            .alias(column.name)
        )
    if how is Coercion.ONE_ZERO:
        return pl.when(col == 1).then(True).when(col == 0).then(False).otherwise(None).alias(column.name)
    if how is Coercion.WHOLE:
        # 3.0 is an integer, 3.5 is not (a plain cast would truncate it silently).
        whole = col.is_finite() & (col == col.round()) & (col.abs() < 2.0**63)
        return pl.when(whole).then(col).otherwise(None).cast(pl.Int64, strict=False).alias(column.name)
    if how is Coercion.TO_UTC:
        if source == pl.Date:
            return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(column.name)
        zoned = col.dt.replace_time_zone("UTC") if source.time_zone is None else col.dt.convert_time_zone("UTC")  # type: ignore[attr-defined]
        return zoned.dt.cast_time_unit("us").alias(column.name)
    if how is Coercion.DATE_PART:
        zoned = col.dt.replace_time_zone("UTC") if source.time_zone is None else col.dt.convert_time_zone("UTC")  # type: ignore[attr-defined]
        return zoned.dt.date().alias(column.name)
    return _parse_text(column, col.str.strip_chars())


def _parse_text(column: Column, text: pl.Expr) -> pl.Expr:
    """Text gated by the shared patterns, then parsed (``Coercion.PARSE``)."""
    if column.type is ColumnType.INTEGER:
        parsed = text.cast(pl.Int64, strict=False)
        pattern = INTEGER_TEXT
    elif column.type is ColumnType.FLOAT:
        parsed = text.cast(pl.Float64, strict=False)
        pattern = FLOAT_TEXT
    elif column.type is ColumnType.DATE:
        parsed = text.str.to_date("%Y-%m-%d", strict=False)
        pattern = DATE_TEXT
    else:
        # One layout for every ISO 8601 form the pattern admits: 'T', seconds, a zone as +hh:mm.
        laid_out = text.str.replace(" ", "T", literal=True).str.replace(r"^(.{16})(Z|[+-]|$)", "${1}:00${2}")
        zoned = (
            pl.when(text.str.contains(ZONE_TEXT))
            .then(laid_out.str.replace(r"Z$", "+00:00").str.replace(r"([+-][0-9]{2})$", "${1}:00"))
            .otherwise(laid_out + "+00:00")
        )
        parsed = zoned.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone="UTC")
        parsed = parsed.dt.cast_time_unit("us")
        pattern = DATETIME_TEXT
    return pl.when(text.str.contains(pattern)).then(parsed).otherwise(None).alias(column.name)


# --- counting ------------------------------------------------------------------------------------


def _count_everything(frame: pl.DataFrame, typed: pl.DataFrame, columns: list[Column], rows: int) -> dict[str, object]:
    """Every count and figure the rules and the profile need, in one parallel pass over the typed table.

    Histograms and category counts, which only draw the profile's charts, read an even sample of the
    rows (every row up to ``PROFILE_SAMPLE_ROWS``).
    """
    step = max(1, -(-rows // PROFILE_SAMPLE_ROWS))
    exprs: list[pl.Expr] = []
    coerced = [c for c in columns if frame.schema[c.name] != typed.schema[c.name]]
    for c in columns:
        col = pl.col(c.name)
        key = c.name + "\x00"
        exprs.append(col.null_count().alias(key + "nulls"))
        if c.type.is_numeric:
            if c.min is not None:
                exprs.append((col < c.min).sum().alias(key + "below_min"))
            if c.max is not None:
                exprs.append((col > c.max).sum().alias(key + "above_max"))
            exprs += [
                col.min().cast(pl.Float64).alias(key + "min"),
                col.max().cast(pl.Float64).alias(key + "max"),
                col.mean().alias(key + "mean"),
                col.std().alias(key + "std"),
                col.gather_every(step).hist(bin_count=HISTOGRAM_BINS).implode().alias(key + "histogram"),
            ]
            if c.type is ColumnType.FLOAT:
                exprs.append(col.is_nan().sum().alias(key + "nan"))
        elif c.type in (ColumnType.DATE, ColumnType.DATETIME):
            exprs += [col.min().alias(key + "min"), col.max().alias(key + "max")]
        if c.allowed_values is not None:
            allowed = _allowed_series(c)
            exprs.append((col.is_not_null() & ~col.is_in(allowed)).sum().alias(key + "not_allowed"))
        if c.allowed_values is not None or c.type is ColumnType.BOOLEAN:
            sample = col.gather_every(step).drop_nulls()
            exprs.append(sample.value_counts(sort=True, name="n").implode().alias(key + "counts"))
        if c.pattern is not None:
            exprs.append((col.is_not_null() & ~col.str.contains(c.pattern)).sum().alias(key + "no_match"))
        if c.unique:
            exprs.append(col.drop_nulls().n_unique().alias(key + "distinct"))
        if c.type is ColumnType.STRING and c.allowed_values is None:
            exprs += [
                col.approx_n_unique().alias(key + "approx_distinct"),
                col.str.len_chars().min().alias(key + "min_length"),
                col.str.len_chars().max().alias(key + "max_length"),
            ]
    counts: dict[str, object] = {"\x00sample_step": step}
    if exprs:
        counts.update(typed.select(exprs).row(0, named=True))
    for c in columns:
        # Values that were null before coercion; the rest of the nulls are values of the wrong type.
        counts[c.name + "\x00raw_nulls"] = counts[c.name + "\x00nulls"]
    if coerced:
        raw = frame.select([pl.col(c.name).null_count().alias(c.name) for c in coerced]).row(0, named=True)
        for name, nulls in raw.items():
            counts[name + "\x00raw_nulls"] = nulls
    counts[DUPLICATE_ROWS] = _duplicate_rows(frame) if rows and frame.width else 0
    for c in columns:
        key = c.name + "\x00"
        if key + "counts" in counts:
            value_counts = cast("list[dict[str, Any]]", counts.pop(key + "counts"))
            counts[key + "top"] = [(str(v[c.name]), int(v["n"])) for v in value_counts[:TOP_VALUES]]
        if key + "histogram" in counts:
            counts[key + "histogram"] = [int(n) for n in cast("list[int]", counts[key + "histogram"])]
    return counts


def _allowed_series(c: Column) -> pl.Series:
    """The allowed values in the column's type, as one list (what ``is_in`` expects)."""
    return pl.Series(allowed_values(c), dtype=_TARGET_DTYPES[c.type], strict=False).implode()


def _duplicate_rows(frame: pl.DataFrame) -> int:
    """Rows identical to an earlier row. Hashes first: equal rows always share a hash, so 0 is exact."""
    estimate = frame.height - frame.hash_rows().n_unique()
    if estimate == 0:
        return 0
    return frame.height - frame.n_unique()


# --- examples ------------------------------------------------------------------------------------


def _failing_rows(result: RuleResult, frame: pl.DataFrame, typed: pl.DataFrame, contract: Contract) -> pl.Expr | None:
    """Rows that break a failed column rule, as a predicate over ``frame`` joined with ``typed``."""
    if result.column is None or result.column not in typed.columns:
        if result.rule == "dataset.duplicate_rows":
            row = pl.struct(frame.columns)
            return row.is_duplicated() & ~row.is_first_distinct()
        return None
    c = contract.column(result.column)
    raw, val = pl.col(f"{c.name}\x00raw"), pl.col(c.name)
    kind = result.rule.rsplit(".", 1)[-1]
    return {
        "type": raw.is_not_null() & val.is_null(),
        "not_null": raw.is_null(),
        "non_null_ratio": raw.is_null(),
        "range": (val < (c.min if c.min is not None else float("-inf")))
        | (val > (c.max if c.max is not None else float("inf"))),
        "finite": val.is_nan() if c.type is ColumnType.FLOAT else pl.lit(False),
        "allowed_values": val.is_not_null() & ~val.is_in(_allowed_series(c)) if c.allowed_values else pl.lit(False),
        "pattern": val.is_not_null() & ~val.str.contains(c.pattern) if c.pattern else pl.lit(False),
        "unique": val.is_not_null() & val.is_duplicated() & ~val.is_first_distinct(),
    }.get(kind)


def _with_examples(
    results: list[RuleResult],
    frame: pl.DataFrame,
    typed: pl.DataFrame,
    contract: Contract,
    first_data_line: int | None,
) -> list[RuleResult]:
    failed = [r for r in results if not r.passed]
    if not failed or frame.height == 0:
        return results
    joined = frame.rename({c: f"{c}\x00raw" for c in typed.columns}).with_columns(typed.get_columns())
    out = []
    for result in results:
        predicate = None if result.passed else _failing_rows(result, frame, typed, contract)
        if predicate is None:
            out.append(result)
            continue
        source = frame if result.rule == "dataset.duplicate_rows" else joined
        hits = source.with_row_index("\x00row").filter(predicate).head(MAX_EXAMPLES)
        examples = []
        for row in hits.iter_rows(named=True):
            index = int(row["\x00row"])
            if result.column is not None:
                value = row.get(f"{result.column}\x00raw")
                shown = {result.column: value}
            else:
                shown = {k: v for k, v in row.items() if not k.startswith("\x00")}
            examples.append(Example.of(index, first_data_line, shown))
        out.append(result.with_examples(examples))
    return out
