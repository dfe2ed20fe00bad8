"""The Spark validation engine: the same contract, rules, messages and report as the polars engine.

For files past one machine (the Glue job) and for ``sagelane validate --engine spark``. It shares with
the polars engine everything that decides a verdict: the byte-level checks (:mod:`preflight`), the
coercion table and ISO 8601 patterns, and the judging of counts (:mod:`rules`). What is Spark's own is
how the counts are made: one aggregation over the table for every per-column figure, one ``distinct``
for duplicate rows, and, for failed files only, a pass that finds the first example rows.

Known differences, documented in docs/engines.md: CSV is read line by line (a quoted field cannot span
lines, so such a file reads as malformed), blank lines are skipped (polars reads them as empty rows),
and the profile's charts are drawn from every row rather than from a sample.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sagelane.contract import Column, ColumnType, Contract
from sagelane.errors import InputReadError, SageLaneError
from sagelane.validation.preflight import (
    DEFAULT_LIMITS,
    MIB,
    Limits,
    Preflight,
    Source,
    first_error_line,
    open_text,
    preflight,
    raise_first_ragged_line,
    raise_if_not_utf8,
)
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
    Coercion,
    Kind,
    allowed_values,
    coercion,
    judge,
    profile_of,
)

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame, SparkSession

    from sagelane.config import GlueConfig

_CORRUPT = "_sagelane_corrupt"
_PARTITION, _POSITION, _ROW = "_sagelane_partition", "_sagelane_position", "_sagelane_row"
_WHITESPACE = " \t\n\r\f\v"
MAX_PARSED_COLUMNS = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The session settings the engine relies on: UTC for naive datetimes, casts that give null, not errors.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.caseSensitive": "true",
}


def glue_limits(glue: GlueConfig) -> Limits:
    """The Spark engine's bounds, from the environment's ``ingest.glue`` config."""
    gib = 1024 * MIB
    return Limits(max_bytes=glue.max_object_gb * gib, max_uncompressed_bytes=glue.max_uncompressed_gb * gib)


def engine_name() -> str:
    import pyspark

    return f"spark {pyspark.__version__}"


def local_session(cores: int | str = "*") -> SparkSession:
    """A Spark session in local mode, as ``sagelane validate --engine spark`` and the embedded AWS use."""
    from pyspark.sql import SparkSession

    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise SageLaneError(
            "the Spark engine needs a Java runtime (Java 17): `./dev setup` installs one where apt is available"
        )
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode needs no network interface
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python workers (the PII hashing UDF) use this env
    logging = Path(__file__).with_name("log4j2.properties").as_uri()
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("sagelane")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", "2g")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={logging}")
    )
    for key, value in SESSION_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass(frozen=True)
class SparkValidation:
    report: ValidationReport
    # Contract columns present in the file, in their contract types, named as the contract names them
    # (persisted: the caller curates from it). ``None`` when the file could not be read.
    frame: DataFrame | None

    @property
    def passed(self) -> bool:
        return self.report.status == "passed"


def validate_path(
    path: str | Path,
    contract: Contract,
    *,
    spark: SparkSession | None = None,
    source: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> SparkValidation:
    """Validate a local file with Spark (local mode unless ``spark`` says otherwise)."""
    path = Path(path).resolve()
    label = source or str(path)
    try:
        origin = Source.local(path, Path(label).name)
    except InputReadError as exc:
        return SparkValidation(_unreadable(contract, label, exc, time.perf_counter()), None)
    return validate(spark or local_session(), origin, path.as_uri(), contract, source=label, limits=limits, now=now)


def validate(
    spark: SparkSession,
    origin: Source,
    location: str,
    contract: Contract,
    *,
    source: str,
    limits: Limits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> SparkValidation:
    """Validate the file at ``location`` (a URI Spark reads: ``file://``, ``s3://``), read as ``origin``.

    Never raises for bad input: the report says what is wrong, with the polars engine's codes and words.
    """
    started = time.perf_counter()
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    try:
        pre = preflight(origin, contract, limits)
        table = _read(spark, origin, location, pre, contract)
        try:
            return _validate_table(table, contract, source, now or datetime.now(UTC), started)
        except Exception as exc:
            if not _is_spark_error(exc):
                raise
            # What the reader found past the parts preflight checks (a Parquet page, a CSV quote).
            code = {"parquet": "corrupt_parquet", "jsonl": "malformed_jsonl"}.get(pre.kind, "malformed_csv")
            raise InputReadError(code, f"{origin.name} cannot be read: {_reason(exc)}") from None
    except InputReadError as exc:
        return SparkValidation(_unreadable(contract, source, exc, started), None)


def _unreadable(contract: Contract, source: str, exc: InputReadError, started: float) -> ValidationReport:
    return ValidationReport.unreadable(
        contract,
        source=source,
        code=exc.code,
        message=exc.message,
        seconds=time.perf_counter() - started,
        engine=engine_name(),
    )


# --- reading -------------------------------------------------------------------------------------


@dataclass
class _Table:
    frame: DataFrame  # raw columns as read (internal names), plus the read's own bookkeeping columns
    header: list[str]  # the file's column names
    # File column name -> internal column name, for the columns the frame holds: every column of Parquet
    # and JSON Lines, the contract's columns of CSV (whose whole rows are compared as lines instead).
    names: dict[str, str]
    format: str
    first_data_line: int | None
    origin: Source
    pre: Preflight
    # CSV / JSON Lines: the file's data lines (``value``), for the UTF-8 check and CSV's duplicate rows.
    lines: DataFrame | None

    @property
    def csv(self) -> bool:
        return self.pre.kind == "csv"


def _read(spark: SparkSession, origin: Source, location: str, pre: Preflight, contract: Contract) -> _Table:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if pre.compressed and not origin.name.lower().endswith(".gz"):
        raise InputReadError(
            "unsupported_format",
            f"{origin.name} is gzip-compressed but not named .gz: the Spark engine reads compression from the name",
        )
    if pre.format == "parquet":
        try:
            frame = spark.read.parquet(location)
            frame.schema  # noqa: B018  (reading the footer is where a broken file fails)
        except Exception as exc:
            if not _is_spark_error(exc):
                raise
            raise InputReadError(
                "corrupt_parquet", f"{origin.name} is not a readable Parquet file: {_reason(exc)}"
            ) from None
        header = list(frame.columns)
        names = {h: f"_c{i}" for i, h in enumerate(header)}
        frame = frame.toDF(*names.values())
        return _Table(frame, header, names, "parquet", None, origin, pre, lines=None)
    if pre.kind == "jsonl":
        frame = (
            spark.read.option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", _CORRUPT)
            .option("encoding", "UTF-8")
            .json(location)
        )
        header = _json_header(origin, pre, [c for c in frame.columns if c != _CORRUPT])
        names = {h: f"_c{i}" for i, h in enumerate(header)}
        frame = frame.select(
            *[F.col(f"`{h}`").alias(names[h]) for h in header],
            (F.col(_CORRUPT) if _CORRUPT in frame.columns else F.lit(None).cast("string")).alias(_CORRUPT),
        )
        return _Table(frame, header, names, pre.format, 1, origin, pre, lines=_lines(spark, location, header=False))
    header = pre.header or []
    positional = {h: f"_c{i}" for i, h in enumerate(header)}
    # Only the contract's columns are carried on: a file of 50,000 columns must not become a plan of 50,000.
    names = {c.name: positional[c.name] for c in contract.columns if c.name in positional}
    # Spark's plans grow with the schema's width, so past MAX_PARSED_COLUMNS the schema stops after the
    # last contract column and rows with extra fields are not flagged (docs/engines.md).
    checked = len(header) <= MAX_PARSED_COLUMNS
    width = len(header) if checked else 1 + max((header.index(n) for n in names), default=0)
    fields = [T.StructField(f"_c{i}", T.StringType()) for i in range(width)]
    frame = (
        spark.read.schema(T.StructType(fields + [T.StructField(_CORRUPT, T.StringType())] * checked))
        .option("header", "true")
        .option("sep", contract.format.delimiter)
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .option("encoding", "UTF-8")
        .option("enforceSchema", "true")
        .option("maxColumns", max(20480, 2 * len(header)))
        .csv(location)
    )
    corrupt = F.col(_CORRUPT) if checked else F.lit(None).cast("string").alias(_CORRUPT)
    # Spark reads an empty field as null (as polars does); the contract's other null markers are mapped here.
    if nulls := contract.format.null_values:
        frame = frame.select(
            *[F.when(F.col(n).isin(nulls), None).otherwise(F.col(n)).alias(n) for n in names.values()],
            corrupt,
        )
    else:
        frame = frame.select(*names.values(), corrupt)
    return _Table(frame, header, names, pre.format, 2, origin, pre, lines=_lines(spark, location, header=True))


def _lines(spark: SparkSession, location: str, *, header: bool) -> DataFrame:
    """The file's non-blank data lines, numbered like the rows the table reader makes of them."""
    from pyspark.sql import functions as F

    lines = (
        spark.read.text(location)
        .where(F.col("value") != "")
        .select("value", F.spark_partition_id().alias(_PARTITION), F.monotonically_increasing_id().alias(_POSITION))
    )
    return lines.where(F.col(_POSITION) != 0) if header else lines  # the first line of the first partition


def _json_header(origin: Source, pre: Preflight, columns: list[str]) -> list[str]:
    """Spark sorts inferred JSON fields; the report lists them as the file does (first line's order first)."""
    with open_text(origin, pre) as fh:
        try:
            first = json.loads(fh.readline())
        except ValueError:
            first = {}
    ordered = [k for k in first if k in columns] if isinstance(first, dict) else []
    return ordered + [c for c in columns if c not in ordered]


def _is_spark_error(exc: BaseException) -> bool:
    """An error Spark raised about the data (as opposed to a bug of ours, which must surface)."""
    from py4j.protocol import Py4JJavaError

    return isinstance(exc, Py4JJavaError) or type(exc).__module__.startswith("pyspark.errors")


def _reason(exc: BaseException) -> str:
    """The root cause's message of a Spark error (the Python-side message names only the call that failed)."""
    root = getattr(exc, "java_exception", None)
    if root is None:
        return first_error_line(exc)
    while root.getCause() is not None:
        root = root.getCause()
    return first_error_line(RuntimeError(str(root.getMessage())))


# --- coercion ------------------------------------------------------------------------------------


def _kind_of(dtype: Any) -> Kind:
    from pyspark.sql import types as T

    if isinstance(dtype, T.StringType):
        return Kind.TEXT
    if isinstance(dtype, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return Kind.INTEGER
    if isinstance(dtype, T.FloatType | T.DoubleType | T.DecimalType):
        return Kind.FLOAT
    if isinstance(dtype, T.BooleanType):
        return Kind.BOOLEAN
    if isinstance(dtype, T.DateType):
        return Kind.DATE
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType):
        return Kind.DATETIME
    return Kind.OTHER


_SPARK_TYPES = {
    ColumnType.STRING: "string",
    ColumnType.INTEGER: "bigint",
    ColumnType.FLOAT: "double",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.DATE: "date",
    ColumnType.DATETIME: "timestamp",
}


def _coerce(column: Column, raw: SparkColumn, dtype: Any) -> SparkColumn:
    """``raw`` in the column's contract type: :data:`sagelane.validation.rules.COERCIONS`, in Spark."""
    from pyspark.sql import functions as F

    target = _SPARK_TYPES[column.type]
    how = coercion(column.type, _kind_of(dtype))
    if how in (Coercion.KEEP, Coercion.CAST, Coercion.TO_UTC):
        # Spark timestamps are instants; naive ones are read in the session's zone, which is UTC.
        return raw.cast(target)
    if how is Coercion.NULL:
        return F.lit(None).cast(target)
    if how is Coercion.DATE_PART:
        return F.to_date(raw)
    if how is Coercion.BOOLEAN_WORDS:
        lowered = F.lower(_strip(raw))
        return F.when(lowered.isin(TRUE_WORDS), True).when(lowered.isin(FALSE_WORDS), False)
    if how is Coercion.ONE_ZERO:
        return F.when(raw == 1, True).when(raw == 0, False)
    if how is Coercion.WHOLE:
        whole = ~F.isnan(raw) & (F.abs(raw) < 2.0**63) & (raw == F.floor(raw))
        return F.when(whole, raw.cast("bigint"))
    text = _strip(raw)
    pattern = {
        ColumnType.INTEGER: INTEGER_TEXT,
        ColumnType.FLOAT: FLOAT_TEXT,
        ColumnType.DATE: DATE_TEXT,
        ColumnType.DATETIME: DATETIME_TEXT,
    }[column.type]
    # The patterns admit only what both engines parse alike; Spark's casts then read every admitted form.
    return F.when(text.rlike(pattern), text.cast(target))


def _strip(raw: SparkColumn) -> SparkColumn:
    """Leading and trailing whitespace removed (``TRIM`` with a character set: cheaper than a regex)."""
    from pyspark.sql import functions as F

    return F.call_function("btrim", raw, F.lit(_WHITESPACE))


# --- counting ------------------------------------------------------------------------------------


def _validate_table(table: _Table, contract: Contract, source: str, now: datetime, started: float) -> SparkValidation:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if table.lines is not None:
        line_figures = _check_lines(table)
    raw = table.frame
    dtypes = {f.name: f.dataType for f in raw.schema.fields}
    present = [c for c in contract.columns if c.name in table.names]
    typed_names = {c.name: f"_t{i}" for i, c in enumerate(present)}
    frame = raw.select(
        "*",
        *[
            _coerce(c, F.col(table.names[c.name]), dtypes[table.names[c.name]]).alias(typed_names[c.name])
            for c in present
        ],
        F.spark_partition_id().alias(_PARTITION),
        F.monotonically_increasing_id().alias(_POSITION),
    ).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts, rows = _count_everything(frame, table, present, typed_names)
        _raise_for_broken_text(table, counts, contract)
        if table.csv:
            counts[DUPLICATE_ROWS] = line_figures[0] - line_figures[1] if rows else 0
        else:
            counts[DUPLICATE_ROWS] = _duplicate_rows(frame, table, rows)
        results = judge(contract, table.header, present, counts, rows, now)
        results = _with_examples(results, frame, table, typed_names, contract)
        sampled = _add_charts(frame, present, typed_names, counts, rows)
    except BaseException:
        frame.unpersist()
        raise
    profile = {c.name: profile_of(c, counts) for c in present}
    report = ValidationReport.build(
        contract,
        source=source,
        fmt=table.format,
        rows=rows,
        header=table.header,
        rules=results,
        profile=profile,
        profile_sample_rows=sampled,
        seconds=time.perf_counter() - started,
        engine=engine_name(),
    )
    typed = frame.select(*[F.col(typed_names[c.name]).alias(c.name) for c in present])
    return SparkValidation(report=report, frame=typed)


def _count_everything(
    frame: DataFrame, table: _Table, present: list[Column], typed_names: dict[str, str]
) -> tuple[dict[str, object], int]:
    """Every count the rules and the profile's numbers need, in one aggregation (plus one ``distinct``)."""
    from pyspark.sql import functions as F

    def count_if(condition: SparkColumn) -> SparkColumn:
        return F.count(F.when(condition, 1))

    exprs: dict[str, SparkColumn] = {"\x00rows": F.count(F.lit(1))}
    if table.lines is not None:
        exprs["\x00corrupt"] = count_if(F.col(_CORRUPT).isNotNull())
    for c in present:
        col, raw, key = F.col(typed_names[c.name]), F.col(table.names[c.name]), c.name + "\x00"
        exprs[key + "nulls"] = count_if(col.isNull())
        exprs[key + "raw_nulls"] = count_if(raw.isNull())
        if c.type.is_numeric:
            if c.min is not None:
                exprs[key + "below_min"] = count_if(col < c.min)
            if c.max is not None:
                exprs[key + "above_max"] = count_if(col > c.max)  # NaN counts as above, as in polars
            number = F.when(~F.isnan(col), col.cast("double"))
            exprs.update(
                {
                    key + "min": F.min(number),
                    key + "max": F.max(number),
                    key + "mean": F.mean(col),
                    key + "std": F.stddev_samp(col),
                }
            )
            if c.type is ColumnType.FLOAT:
                exprs[key + "nan"] = count_if(F.isnan(col))
        elif c.type is ColumnType.DATE:
            exprs.update({key + "min": F.min(col), key + "max": F.max(col)})
        elif c.type is ColumnType.DATETIME:
            exprs.update({key + "min": F.min(F.unix_micros(col)), key + "max": F.max(F.unix_micros(col))})
        if c.allowed_values is not None:
            exprs[key + "not_allowed"] = count_if(col.isNotNull() & ~col.isin(allowed_values(c)))
        if c.pattern is not None:
            exprs[key + "no_match"] = count_if(col.isNotNull() & ~col.rlike(c.pattern))
        if c.unique:
            exprs[key + "distinct"] = F.countDistinct(col)
        if c.type is ColumnType.STRING and c.allowed_values is None:
            exprs.update(
                {
                    key + "approx_distinct": F.approx_count_distinct(col),
                    key + "min_length": F.min(F.length(col)),
                    key + "max_length": F.max(F.length(col)),
                }
            )
    keys = list(exprs)
    row = frame.agg(*[e.alias(f"k{i}") for i, e in enumerate(exprs.values())]).collect()[0]
    counts: dict[str, object] = {key: row[f"k{i}"] for i, key in enumerate(keys)}
    for c in present:
        if c.type is ColumnType.DATETIME:
            for field in ("min", "max"):
                micros = cast("int | None", counts[c.name + "\x00" + field])
                counts[c.name + "\x00" + field] = None if micros is None else _EPOCH + timedelta(microseconds=micros)
    rows = int(counts.pop("\x00rows"))  # type: ignore[call-overload]
    return counts, rows


def _duplicate_rows(frame: DataFrame, table: _Table, rows: int) -> int:
    """Rows identical (as read) to an earlier row."""
    raw_columns = list(table.names.values())
    if not rows or not raw_columns:
        return 0
    return rows - frame.select(*raw_columns).distinct().count()


def _check_lines(table: _Table) -> tuple[int, int]:
    """Raise for bytes that are not UTF-8; return the number of data lines and (CSV) of distinct ones.

    Spark reads bad bytes as replacement characters without a word, so each line's bytes are decoded
    here; the exact line is then found by the streaming scan the polars engine uses, run only then.
    """
    from pyspark.sql import functions as F

    assert table.lines is not None
    value = F.col("value")
    figures = [F.count(F.lit(1)), F.count(F.when(F.decode(value.cast("binary"), "UTF-8").contains("\ufffd"), 1))]
    if table.csv:
        figures.append(F.countDistinct(value))
    found = table.lines.agg(*figures).collect()[0]
    if found[1]:
        with open_text(table.origin, table.pre) as fh:
            raise_if_not_utf8(fh, table.origin.name)
    return int(found[0]), int(found[2]) if table.csv else 0


def _raise_for_broken_text(table: _Table, counts: dict[str, object], contract: Contract) -> None:
    """Say what is wrong with rows Spark could not parse, with the polars engine's words.

    The exact line comes from the same streaming scan the polars engine uses, run only then.
    """
    name = table.origin.name
    corrupt = int(counts.pop("\x00corrupt", 0) or 0)  # type: ignore[call-overload]
    if not corrupt:
        return
    if table.pre.kind == "jsonl":
        raise InputReadError(
            "malformed_jsonl", f"{name} is not valid JSON Lines: {corrupt:,} line(s) are not JSON objects"
        )
    with open_text(table.origin, table.pre) as fh:
        raise_first_ragged_line(fh, contract.format.delimiter, len(table.header), name)
    # Only rows with fewer fields than the header: polars reads the missing fields as null, and so does Spark.


# --- examples ------------------------------------------------------------------------------------


def _failing_rows(
    result: RuleResult, table: _Table, typed_names: dict[str, str], contract: Contract
) -> SparkColumn | None:
    """Rows that break a failed rule, as a predicate over the persisted frame (mirrors the polars engine)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if result.rule == "dataset.duplicate_rows":
        everything = ["value"] if table.csv else list(table.names.values())
        return F.row_number().over(Window.partitionBy(*everything).orderBy(_POSITION)) > 1
    if result.column is None or result.column not in typed_names:
        return None
    c = contract.column(result.column)
    raw, val = F.col(table.names[c.name]), F.col(typed_names[c.name])
    kind = result.rule.rsplit(".", 1)[-1]
    if kind == "type":
        return raw.isNotNull() & val.isNull()
    if kind in ("not_null", "non_null_ratio"):
        return raw.isNull()
    if kind == "range":
        low = val < c.min if c.min is not None else F.lit(False)
        high = val > c.max if c.max is not None else F.lit(False)
        return low | high
    if kind == "finite":
        return F.isnan(val)
    if kind == "allowed_values":
        return val.isNotNull() & ~val.isin(allowed_values(c))
    if kind == "pattern" and c.pattern:
        return val.isNotNull() & ~val.rlike(c.pattern)
    if kind == "unique":
        return val.isNotNull() & (F.row_number().over(Window.partitionBy(val).orderBy(_POSITION)) > 1)
    return None


def _with_examples(
    results: list[RuleResult],
    frame: DataFrame,
    table: _Table,
    typed_names: dict[str, str],
    contract: Contract,
) -> list[RuleResult]:
    """The first rows (in file order) that break each failed rule."""
    wanted = {r.rule: _failing_rows(r, table, typed_names, contract) for r in results if not r.passed}
    wanted = {rule: p for rule, p in wanted.items() if p is not None}
    if not wanted:
        return results
    out = []
    for result in results:
        predicate = wanted.get(result.rule)
        if predicate is None:
            out.append(result)
            continue
        if result.rule == "dataset.duplicate_rows" and table.lines is not None and table.csv:
            examples = [
                Example.of(index, table.first_data_line, dict(zip(table.header, _fields(line, contract), strict=False)))
                for index, (line,) in _first_hits(table.lines, predicate, ["value"])
            ]
        else:
            shown = dict(table.names)
            if result.column is not None and result.rule != "dataset.duplicate_rows":
                shown = {result.column: table.names[result.column]}
            examples = [
                Example.of(index, table.first_data_line, dict(zip(shown, values, strict=True)))
                for index, values in _first_hits(frame, predicate, list(shown.values()))
            ]
        out.append(result.with_examples(examples))
    return out


def _first_hits(frame: DataFrame, predicate: SparkColumn, columns: list[str]) -> list[tuple[int, tuple]]:
    """The row numbers and ``columns`` of the first rows (in file order) where ``predicate`` holds.

    Row numbers without a Python pass: a partition's rows are consecutive, so a row's number is its
    partition's offset plus its place after the partition's first row.
    """

    # A column first, then a filter: the unique and duplicate-row predicates are window functions.
    hits = frame.withColumn("_sagelane_hit", predicate).where("_sagelane_hit")
    first = hits.orderBy(_POSITION).limit(MAX_EXAMPLES).select(_PARTITION, _POSITION, *columns).collect()
    if not first:
        return []
    offsets = _offsets(frame)
    return [(offsets[r[0]] + r[1], tuple(r[2:])) for r in first]


_OFFSETS: dict[int, dict[int, int]] = {}


def _offsets(frame: DataFrame) -> dict[int, int]:
    """For each partition, what turns a position in it into a row number (counted once per frame)."""
    from pyspark.sql import functions as F

    if id(frame) not in _OFFSETS:
        partitions = frame.groupBy(_PARTITION).agg(F.count(F.lit(1)), F.min(_POSITION)).collect()
        offsets, total = {}, 0
        for partition, size, start in sorted(partitions):
            offsets[partition] = total - start
            total += size
        _OFFSETS.clear()  # one validation at a time: only the frame being validated is remembered
        _OFFSETS[id(frame)] = offsets
    return _OFFSETS[id(frame)]


def _fields(line: str, contract: Contract) -> list[str]:
    return next(csv.reader([line], delimiter=contract.format.delimiter), [])


# --- profile charts ------------------------------------------------------------------------------


def _add_charts(
    frame: DataFrame, present: list[Column], typed_names: dict[str, str], counts: dict[str, object], rows: int
) -> int:
    """Histograms (the polars engine's bins: equal width, the first closed) and top values.

    Drawn from a random sample of about ``PROFILE_SAMPLE_ROWS`` rows (every row of smaller files), as the
    polars engine draws them from an even sample; every number in the profile is exact. Returns the
    number of rows sampled.
    """
    from pyspark.sql import functions as F

    charted = [c for c in present if c.type.is_numeric or c.allowed_values is not None or c.type is ColumnType.BOOLEAN]
    if not charted or not rows:
        return rows
    fraction = PROFILE_SAMPLE_ROWS / rows
    sample = frame.select(*[typed_names[c.name] for c in charted])
    if fraction < 1:
        sample = sample.sample(withReplacement=False, fraction=fraction, seed=7)
    sample = sample.cache()
    try:
        exprs, bins = [F.count(F.lit(1))], {}
        for c in charted:
            key = c.name + "\x00"
            low, high = counts.get(key + "min"), counts.get(key + "max")
            if not c.type.is_numeric or low is None or high is None:
                continue
            low, high = float(low), float(high)  # type: ignore[arg-type]
            if low == high:
                low, high = low - 0.5, high + 0.5
            width = (high - low) / HISTOGRAM_BINS
            x = F.col(typed_names[c.name]).cast("double")
            bucket = F.when(x == low, 0).otherwise(F.least(F.ceil((x - low) / width) - 1, F.lit(HISTOGRAM_BINS - 1)))
            inside = x.isNotNull() & ~F.isnan(x) & (x >= low) & (x <= high)
            bins[key + "histogram"] = len(exprs)
            exprs += [F.count(F.when(inside & (bucket == i), 1)) for i in range(HISTOGRAM_BINS)]
        row = sample.agg(*[e.alias(f"h{i}") for i, e in enumerate(exprs)]).collect()[0]
        for key, start in bins.items():
            counts[key] = [int(row[f"h{start + i}"]) for i in range(HISTOGRAM_BINS)]
        for c in charted:
            if c.allowed_values is None and c.type is not ColumnType.BOOLEAN:
                continue
            col = F.col(typed_names[c.name])
            top = sample.where(col.isNotNull()).groupBy(col).count().orderBy(F.desc("count")).limit(TOP_VALUES)
            counts[c.name + "\x00top"] = [(_shown(r[0]), int(r[1])) for r in top.collect()]
        return int(row["h0"])
    finally:
        sample.unpersist()


def _shown(value: object) -> str:
    """A value as the polars engine shows it in top values."""
    return str(value)
