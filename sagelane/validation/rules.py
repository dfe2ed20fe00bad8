"""The contract's rules, judged from counts: what both validation engines share.

An engine (polars in ``engine.py``, Spark in ``spark.py``) reads a file and counts; everything that
turns counts into verdicts, messages and the profile lives here, so the two engines cannot disagree
about a rule. The engines also share one definition of how a value converts to a contract type
(:data:`COERCIONS`, the ISO 8601 patterns): each implements the same table in its own expressions.

The counts are a flat dict keyed ``"<column>\x00<figure>"`` (``nulls``, ``raw_nulls``, ``below_min``,
``above_max``, ``nan``, ``not_allowed``, ``no_match``, ``distinct``, ``min``, ``max``, ...) plus
``"\x00duplicate_rows"`` for the whole table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sagelane.contract import Column, ColumnType, Contract
from sagelane.validation.preflight import closest_name
from sagelane.validation.report import RuleResult

MAX_EXAMPLES = 5
HISTOGRAM_BINS = 20
TOP_VALUES = 12
# The profile's charts (histograms, top values) come from an even sample of at most this many rows;
# every count a rule or the profile reports in numbers (nulls, min, max, mean, violations) is exact.
PROFILE_SAMPLE_ROWS = 200_000
TRUE_WORDS = ["true", "t", "yes", "y", "1"]
FALSE_WORDS = ["false", "f", "no", "n", "0"]
DUPLICATE_ROWS = "\x00duplicate_rows"

# Text that converts, checked on the value with surrounding whitespace removed. Both engines gate their
# own parsers with these, so what one engine's parser would also accept (Spark reads "3.0" as the
# integer 3 and "1.5d" as a number; polars guesses date formats from the first value) never decides a verdict.
INTEGER_TEXT = r"^[+-]?[0-9]+$"
FLOAT_TEXT = r"^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))$"
DATE_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# ISO 8601 date and time, 'T' or a space between; seconds and fraction optional; no zone means UTC.
DATETIME_TEXT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)

ZONE_TEXT = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"  # the zone at the end of a DATETIME_TEXT value, if any


class Kind(StrEnum):
    """What a column holds as read, before coercion: the engines map their own types onto these."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    OTHER = "other"  # nested, binary, ...: never a contract value


class Coercion(StrEnum):
    """How a value of one kind becomes a contract type. Values that do not convert become null."""

    KEEP = "keep"
    NULL = "null"  # nothing of this kind is a value of the type
    CAST = "cast"  # the engine's plain cast (numbers to numbers, numbers and booleans to text)
    PARSE = "parse"  # text gated by the patterns above, then parsed
    BOOLEAN_WORDS = "boolean_words"  # TRUE_WORDS / FALSE_WORDS, any case
    ONE_ZERO = "one_zero"  # 1 is true, 0 is false, anything else null
    WHOLE = "whole"  # a float that is a whole number (3.0 is an integer, 3.5 is not)
    TO_UTC = "to_utc"  # a datetime (naive ones are UTC) in UTC; a date at midnight UTC
    DATE_PART = "date_part"  # the date of a datetime, in UTC


_SAME = {
    ColumnType.STRING: Kind.TEXT,
    ColumnType.INTEGER: Kind.INTEGER,
    ColumnType.FLOAT: Kind.FLOAT,
    ColumnType.BOOLEAN: Kind.BOOLEAN,
    ColumnType.DATE: Kind.DATE,
}
COERCIONS: dict[ColumnType, dict[Kind, Coercion]] = {
    ColumnType.STRING: {Kind.INTEGER: Coercion.CAST, Kind.FLOAT: Coercion.CAST, Kind.BOOLEAN: Coercion.CAST},
    ColumnType.INTEGER: {Kind.TEXT: Coercion.PARSE, Kind.FLOAT: Coercion.WHOLE, Kind.BOOLEAN: Coercion.CAST},
    ColumnType.FLOAT: {Kind.TEXT: Coercion.PARSE, Kind.INTEGER: Coercion.CAST, Kind.BOOLEAN: Coercion.CAST},
    ColumnType.BOOLEAN: {
        Kind.TEXT: Coercion.BOOLEAN_WORDS,
        Kind.INTEGER: Coercion.ONE_ZERO,
        Kind.FLOAT: Coercion.ONE_ZERO,
    },
    ColumnType.DATE: {Kind.TEXT: Coercion.PARSE, Kind.DATETIME: Coercion.DATE_PART},
    ColumnType.DATETIME: {Kind.TEXT: Coercion.PARSE, Kind.DATETIME: Coercion.TO_UTC, Kind.DATE: Coercion.TO_UTC},
}


def coercion(target: ColumnType, kind: Kind) -> Coercion:
    """How a ``kind`` value becomes ``target``: the one table both engines implement."""
    if _SAME.get(target) is kind:
        return Coercion.KEEP
    return COERCIONS[target].get(kind, Coercion.NULL)


def allowed_values(c: Column) -> list[object]:
    """The allowed values in the column's type (strings for string columns, as the contract may say 1)."""
    values: list[object] = list(c.allowed_values or [])
    return [str(v) for v in values] if c.type is ColumnType.STRING else values


def judge(
    contract: Contract,
    header: list[str],
    present: list[Column],
    counts: dict[str, object],
    rows: int,
    now: datetime,
) -> list[RuleResult]:
    """Every rule's result, from the header and the counts."""
    results = [*schema_rules(contract, header)]
    for column in present:
        results.extend(column_rules(column, counts, rows))
    results.extend(dataset_rules(contract, counts, rows, now, has_columns=bool(header)))
    return results


# --- schema --------------------------------------------------------------------------------------


def schema_rules(contract: Contract, header: list[str]) -> list[RuleResult]:
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


# --- columns -------------------------------------------------------------------------------------


def column_rules(c: Column, counts: dict[str, object], rows: int) -> list[RuleResult]:
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


# --- dataset -------------------------------------------------------------------------------------


def dataset_rules(
    contract: Contract, counts: dict[str, object], rows: int, now: datetime, *, has_columns: bool
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
    if rows and has_columns:
        duplicates = int(counts[DUPLICATE_ROWS])  # type: ignore[call-overload]
        ratio = duplicates / rows
        message = f"{duplicates:,} duplicate row(s), {ratio:.2%} (maximum {rules.max_duplicate_row_ratio:.2%})"
        if ratio > rules.max_duplicate_row_ratio:
            results.append(RuleResult.failure("dataset.duplicate_rows", None, message, duplicates))
        else:
            results.append(RuleResult.success("dataset.duplicate_rows", None, message))
    if rules.freshness is not None and rules.freshness.column + "\x00nulls" in counts:
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


# --- profile -------------------------------------------------------------------------------------


def profile_of(c: Column, counts: dict[str, object]) -> dict[str, object]:
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
