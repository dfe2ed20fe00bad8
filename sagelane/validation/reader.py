"""Reading untrusted files into a polars table, after the shared checks in :mod:`preflight`.

Memory stays bounded: inputs are capped by size, gzip is inflated in a stream to a capped temporary
file, and the slow paths (finding the first non-UTF-8 byte or ragged line) run only when the fast
reader has already failed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from sagelane.contract import ColumnType, Contract
from sagelane.errors import InputReadError
from sagelane.validation.preflight import (
    DEFAULT_LIMITS,
    GZIP_MAGIC,
    Limits,
    Source,
    first_error_line,
    preflight,
    raise_first_ragged_line,
    raise_if_not_utf8,
)

_POLARS_READ_TYPES = {ColumnType.INTEGER: pl.Int64, ColumnType.FLOAT: pl.Float64}
# What the readers raise for bad content (never programming errors such as TypeError).
_READ_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError)


@dataclass(frozen=True)
class RawTable:
    """A file read as a table: columns as the file names them, values as read (not yet coerced)."""

    frame: pl.DataFrame
    format: str  # one of contract.ALL_FORMATS
    header: list[str]
    # Physical line of the first data row (1-based) for text formats, so examples point at file lines.
    first_data_line: int | None


def read_table(path: Path, contract: Contract, *, name: str | None = None, limits: Limits = DEFAULT_LIMITS) -> RawTable:
    """Read ``path`` as the contract's dataset, or raise :class:`InputReadError` saying why not."""
    source = Source.local(path, name)
    with path.open("rb") as fh:
        compressed = fh.read(2) == GZIP_MAGIC
    if not compressed:
        pre = preflight(source, contract, limits)
        if pre.format == "parquet":
            return _read_parquet(path, source.name)
        return _read_text(path, pre.kind, pre.format, pre.header, contract, source.name)
    with _scratch_file() as (out, plain):
        pre = preflight(source, contract, limits, inflate_to=out)
        out.close()
        return _read_text(plain, pre.kind, pre.format, pre.header, contract, source.name)


@contextmanager
def _scratch_file() -> Iterator[tuple[BinaryIO, Path]]:
    """A temporary file for the inflated copy of a gzip input, removed afterwards."""
    fd, tmp = tempfile.mkstemp(prefix="sagelane-", suffix=".inflated")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out, Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_parquet(path: Path, name: str) -> RawTable:
    try:
        frame = pl.read_parquet(path)
    except _READ_ERRORS as exc:
        raise InputReadError(
            "corrupt_parquet", f"{name} is not a readable Parquet file: {first_error_line(exc)}"
        ) from None
    return RawTable(frame=frame, format="parquet", header=frame.columns, first_data_line=None)


def _read_text(path: Path, kind: str, fmt: str, header: list[str] | None, contract: Contract, name: str) -> RawTable:
    if kind == "jsonl":
        return _read_jsonl(path, fmt, name)
    assert header is not None
    numeric = {
        c.name: _POLARS_READ_TYPES[c.type]
        for c in contract.columns
        if c.type in _POLARS_READ_TYPES and c.name in header
    }
    options: dict[str, Any] = dict(
        separator=contract.format.delimiter,
        has_header=True,
        infer_schema=False,
        null_values=contract.format.null_values,
        raise_if_empty=False,
        truncate_ragged_lines=False,
    )
    try:
        # Fast path: numeric columns parsed by the reader itself.
        frame = pl.read_csv(path, schema_overrides=numeric, **options)
    except _READ_ERRORS:
        with path.open("rb") as fh:
            raise_if_not_utf8(fh, name)
        try:
            # Slow path for files with type problems: everything as text, coerced (and counted) later.
            frame = pl.read_csv(path, **options)
        except _READ_ERRORS as exc:
            with path.open("rb") as fh:
                raise_first_ragged_line(fh, contract.format.delimiter, len(header), name)
            raise InputReadError("malformed_csv", f"{name} cannot be parsed as CSV: {first_error_line(exc)}") from None
    return RawTable(frame=frame, format=fmt, header=header, first_data_line=2)


def _read_jsonl(path: Path, fmt: str, name: str) -> RawTable:
    try:
        frame = pl.read_ndjson(path, infer_schema_length=None)
    except _READ_ERRORS as exc:
        with path.open("rb") as fh:
            raise_if_not_utf8(fh, name)
        raise InputReadError("malformed_jsonl", f"{name} is not valid JSON Lines: {first_error_line(exc)}") from None
    return RawTable(frame=frame, format=fmt, header=frame.columns, first_data_line=1)
