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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from sagelane.contract import Column, ColumnType, Contract
from sagelane.errors import InputReadError
from sagelane.validation.reader import DEFAULT_LIMITS, Limits, RawTable, closest_name, read_table
from sagelane.validation.report import Example, RuleResult, ValidationReport

MAX_EXAMPLES = 5
HISTOGRAM_BINS = 20
TOP_VALUES = 12
# The profile's charts (histograms, top values) come from an even sample of at most this many rows;
# every count a rule or the profile reports in numbers (nulls, min, max, mean, violations) is exact.
PROFILE_SAMPLE_ROWS = 200_000
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]
_TARGET_DTYPES = {
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
            contract, source=source, code=exc.code, message=exc.message, seconds=time.perf_counter() - started
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
    results: list[RuleResult] = [*_schema_rules(contract, table.header)]

    typed_exprs = {c.name: _coerce(c, frame.schema[c.name]) for c in present}
    typed = frame.select(list(typed_exprs.values())) if present else pl.DataFrame()
    counts = _count_everything(frame, typed, present, rows)

    for column in present:
        results.extend(_column_rules(column, counts, rows))
    results.extend(_dataset_rules(contract, frame, typed, counts, rows, now or datetime.now(UTC)))
    results = _with_examples(results, frame, typed, contract, table.first_data_line)

    profile = {c.name: _profile_of(c, counts) for c in present}
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
    )
    return Validation(report=report, frame=typed)


# --- schema --------------------------------------------------------------------------------------


def _schema_rules(contract: Contract, header: list[str]) -> list[RuleResult]:
    expected = [c.name for c in contract.columns]
    missing = [c for c in contract.columns if c.name not in header]
    extra = [h for h in header if h not in expected]
    results = []
    if missing and len(missing) == len(contract.columns):
        shown = ", ".join(repr(h) for h in header[:5]) + (" ..." if len(header) > 5 else "")
        results.append(
            RuleResult.failure(
                "schema.columns",
                None,
                f"none of the contract's {len(expected)} columns appear in the file (its columns: {shown}): "
                f"is this a {contract.dataset} file?",
                len(expected),
            )
        )
        return results
    tolerated = contract.rules.missing_columns == "allow_nullable"
    blocking = [c for c in missing if not (tolerated and c.nullable and not c.min_non_null_ratio)]
    if blocking:
        parts = []
        candidates = extra if len(extra) <= 500 else []  # fuzzy hints are for typos, not for 10^5 columns
        for column in blocking:
            guess = closest_name(column.name, candidates)
            parts.append(f"{column.name} (found {guess!r}: renamed?)" if guess else column.name)
        results.append(
            RuleResult.failure("schema.missing_columns", None, f"missing column(s): {', '.join(parts)}", len(blocking))
        )
    else:
        results.append(RuleResult.success("schema.missing_columns", None, "every required column is present"))
    if contract.rules.unexpected_columns == "reject":
        if extra:
            shown = ", ".join(extra[:10]) + (" ..." if len(extra) > 10 else "")
            results.append(
                RuleResult.failure(
                    "schema.unexpected_columns",
                    None,
                    f"column(s) not in the contract: {shown} (the contract rejects unexpected columns)",
                    len(extra),
                )
            )
        else:
            results.append(RuleResult.success("schema.unexpected_columns", None, "no unexpected columns"))
    return results


# --- coercion ------------------------------------------------------------------------------------


def _coerce(column: Column, source: pl.DataType) -> pl.Expr:
    """An expression giving ``column`` in its contract type; values that do not convert become null."""
    col = pl.col(column.name)
    target = _TARGET_DTYPES[column.type]
    if source == target:
        return col
    if column.type is ColumnType.BOOLEAN:
        if source == pl.String:
            lowered = col.str.strip_chars().str.to_lowercase()
            return (
                pl.when(lowered.is_in(_TRUE))
                .then(True)
                .when(lowered.is_in(_FALSE))
                .then(False)
                .otherwise(None)
                .alias(column.name)
            )
        if source.is_integer():
            return pl.when(col == 1).then(True).when(col == 0).then(False).otherwise(None).alias(column.name)
    if column.type is ColumnType.DATE and source == pl.String:
        return col.str.strip_chars().str.to_date(strict=False).alias(column.name)
    if column.type is ColumnType.DATETIME:
        if source == pl.String:
            return col.str.strip_chars().str.to_datetime(strict=False, time_zone="UTC").dt.cast_time_unit("us")
        if isinstance(source, pl.Datetime):
            zoned = col.dt.replace_time_zone("UTC") if source.time_zone is None else col.dt.convert_time_zone("UTC")
            return zoned.dt.cast_time_unit("us")
    if column.type is ColumnType.INTEGER and source.is_float():
        # 3.0 is an integer, 3.5 is not (a plain cast would truncate it silently).
        return pl.when(col == col.round()).then(col).otherwise(None).cast(pl.Int64, strict=False)
    if column.type is ColumnType.STRING and not (source == pl.String or source.is_numeric() or source == pl.Boolean):
        return pl.lit(None, dtype=pl.String).alias(column.name)  # nested / binary values are not strings
    if column.type.is_numeric and source == pl.String:
        return col.str.strip_chars().cast(target, strict=False)
    if not (source.is_numeric() or source == pl.String or source == pl.Boolean or source.is_temporal()):
        return pl.lit(None, dtype=target).alias(column.name)
    return col.cast(target, strict=False)


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
    for c in columns:
        key = c.name + "\x00"
        if key + "counts" in counts:
            value_counts = counts.pop(key + "counts")
            counts[key + "top"] = [(str(v[c.name]), int(v["n"])) for v in value_counts[:TOP_VALUES]]  # type: ignore[index]
        if key + "histogram" in counts:
            counts[key + "histogram"] = [int(n) for n in counts[key + "histogram"]]  # type: ignore[union-attr]
    return counts


def _allowed_series(c: Column) -> pl.Series:
    """The allowed values in the column's type, as one list (what ``is_in`` expects)."""
    dtype = _TARGET_DTYPES[c.type]
    values = c.allowed_values or []
    if c.type is ColumnType.STRING:
        values = [str(v) for v in values]
    return pl.Series(values, dtype=dtype, strict=False).implode()


# --- rules ---------------------------------------------------------------------------------------


def _column_rules(c: Column, counts: dict[str, object], rows: int) -> list[RuleResult]:
    key = c.name + "\x00"
    raw_nulls = int(counts[key + "raw_nulls"])  # type: ignore[call-overload]
    nulls = int(counts[key + "nulls"])  # type: ignore[call-overload]
    bad_type = nulls - raw_nulls
    results = []
    rule = f"column.{c.name}"
    if bad_type:
        results.append(
            RuleResult.failure(f"{rule}.type", c.name, f"{bad_type:,} value(s) are not {_article(c.type)}", bad_type)
        )
    else:
        results.append(RuleResult.success(f"{rule}.type", c.name, f"every value is {_article(c.type)}"))
    if not c.nullable:
        if raw_nulls:
            results.append(RuleResult.failure(f"{rule}.not_null", c.name, f"{raw_nulls:,} missing value(s)", raw_nulls))
        else:
            results.append(RuleResult.success(f"{rule}.not_null", c.name, "no missing values"))
    if c.min_non_null_ratio is not None and rows:
        ratio = (rows - raw_nulls) / rows
        message = f"{ratio:.1%} of values present (minimum {c.min_non_null_ratio:.1%})"
        if ratio < c.min_non_null_ratio:
            results.append(RuleResult.failure(f"{rule}.non_null_ratio", c.name, message, raw_nulls))
        else:
            results.append(RuleResult.success(f"{rule}.non_null_ratio", c.name, message))
    if c.type.is_numeric and (c.min is not None or c.max is not None):
        below = int(counts.get(key + "below_min", 0))  # type: ignore[call-overload]
        above = int(counts.get(key + "above_max", 0))  # type: ignore[call-overload]
        bounds = f"[{_num(c.min)}, {_num(c.max)}]"
        if below or above:
            results.append(
                RuleResult.failure(
                    f"{rule}.range",
                    c.name,
                    f"{below + above:,} value(s) outside {bounds} ({below:,} below, {above:,} above)",
                    below + above,
                )
            )
        else:
            results.append(RuleResult.success(f"{rule}.range", c.name, f"every value within {bounds}"))
    if c.type is ColumnType.FLOAT:
        nan = int(counts.get(key + "nan", 0) or 0)  # type: ignore[call-overload]
        if nan:
            results.append(RuleResult.failure(f"{rule}.finite", c.name, f"{nan:,} NaN value(s)", nan))
    if c.allowed_values is not None:
        bad = int(counts[key + "not_allowed"])  # type: ignore[call-overload]
        allowed = ", ".join(str(v) for v in c.allowed_values[:12])
        if bad:
            results.append(
                RuleResult.failure(f"{rule}.allowed_values", c.name, f"{bad:,} value(s) not in {{{allowed}}}", bad)
            )
        else:
            results.append(RuleResult.success(f"{rule}.allowed_values", c.name, f"every value in {{{allowed}}}"))
    if c.pattern is not None:
        bad = int(counts[key + "no_match"])  # type: ignore[call-overload]
        if bad:
            results.append(
                RuleResult.failure(f"{rule}.pattern", c.name, f"{bad:,} value(s) do not match {c.pattern}", bad)
            )
        else:
            results.append(RuleResult.success(f"{rule}.pattern", c.name, f"every value matches {c.pattern}"))
    if c.unique:
        present = rows - nulls
        duplicates = present - int(counts[key + "distinct"])  # type: ignore[call-overload]
        if duplicates:
            results.append(
                RuleResult.failure(
                    f"{rule}.unique",
                    c.name,
                    f"{duplicates:,} duplicate value(s) (repeats of an earlier row)",
                    duplicates,
                )
            )
        else:
            results.append(RuleResult.success(f"{rule}.unique", c.name, "every value is unique"))
    return results


def _dataset_rules(
    contract: Contract,
    frame: pl.DataFrame,
    typed: pl.DataFrame,
    counts: dict[str, object],
    rows: int,
    now: datetime,
) -> list[RuleResult]:
    rules = contract.rules
    results = []
    if rows < rules.min_rows:
        why = "the file has a header but no data rows" if rows == 0 else f"{rows:,} row(s)"
        results.append(
            RuleResult.failure("dataset.min_rows", None, f"{why}; at least {rules.min_rows:,} required", rows)
        )
    else:
        results.append(RuleResult.success("dataset.min_rows", None, f"{rows:,} rows (minimum {rules.min_rows:,})"))
    if rules.max_rows is not None:
        if rows > rules.max_rows:
            results.append(
                RuleResult.failure("dataset.max_rows", None, f"{rows:,} rows; at most {rules.max_rows:,} allowed", rows)
            )
        else:
            results.append(RuleResult.success("dataset.max_rows", None, f"{rows:,} rows (maximum {rules.max_rows:,})"))
    if rows and frame.width:
        duplicates = _duplicate_rows(frame)
        ratio = duplicates / rows
        message = f"{duplicates:,} duplicate row(s), {ratio:.2%} (maximum {rules.max_duplicate_row_ratio:.2%})"
        if ratio > rules.max_duplicate_row_ratio:
            results.append(RuleResult.failure("dataset.duplicate_rows", None, message, duplicates))
        else:
            results.append(RuleResult.success("dataset.duplicate_rows", None, message))
    if rules.freshness is not None and rules.freshness.column in typed.columns:
        newest = counts.get(rules.freshness.column + "\x00max")
        limit = now - timedelta(days=rules.freshness.max_age_days)
        name = rules.freshness.column
        if newest is None:
            results.append(
                RuleResult.failure("dataset.freshness", name, f"{name} has no values to judge freshness by", rows)
            )
        else:
            newest_dt = newest if isinstance(newest, datetime) else datetime(newest.year, newest.month, newest.day)  # type: ignore[attr-defined]
            if newest_dt.tzinfo is None:
                newest_dt = newest_dt.replace(tzinfo=UTC)
            age_days = (now - newest_dt).total_seconds() / 86400
            message = (
                f"newest {name} is {newest_dt.isoformat()} "
                f"({age_days:.1f} days old; maximum {rules.freshness.max_age_days:g})"
            )
            if newest_dt < limit:
                results.append(RuleResult.failure("dataset.freshness", name, message, rows))
            else:
                results.append(RuleResult.success("dataset.freshness", name, message))
    return results


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


# --- profile -------------------------------------------------------------------------------------


def _profile_of(c: Column, counts: dict[str, object]) -> dict[str, object]:
    key = c.name + "\x00"
    profile: dict[str, object] = {"type": str(c.type), "nulls": counts[key + "nulls"]}
    for field in ("min", "max", "mean", "std", "approx_distinct", "min_length", "max_length", "distinct", "histogram"):
        value = counts.get(key + field)
        if value is not None:
            profile[field] = value.isoformat() if hasattr(value, "isoformat") else value
    if key + "top" in counts:
        profile["top_values"] = counts[key + "top"]
    return profile


def _article(t: ColumnType) -> str:
    return {"integer": "an integer", "float": "a number", "boolean": "a boolean (true/false)"}.get(
        str(t), f"a {t}" if t is not ColumnType.DATETIME else "a datetime (ISO 8601)"
    )


def _num(value: float | None) -> str:
    return "-inf" if value is None else f"{value:g}"
