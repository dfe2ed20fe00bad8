"""Reading untrusted files into a table, with a specific error for every way a file can be wrong.

Files arrive from other teams and systems: empty, truncated, gzip bombs, Latin-1 exports, the wrong
delimiter, an image with a ``.csv`` name, a 2 GB single line. Each of these ends in an
:class:`InputReadError` whose ``code`` is stable and whose message names the problem and, where it can,
the line. Memory stays bounded: inputs are capped by size, gzip is inflated in a stream to a capped
temporary file, and the header is examined from the first megabyte only.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sagelane.contract import ColumnType, Contract, repeated
from sagelane.errors import InputReadError

MIB = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
_POLARS_READ_TYPES = {ColumnType.INTEGER: pl.Int64, ColumnType.FLOAT: pl.Float64}
# What the readers raise for bad content (never programming errors such as TypeError).
_READ_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError)
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass(frozen=True)
class Limits:
    """Bounds on what one validation may read. The Lambda sets them from config."""

    max_bytes: int = 1024 * MIB
    max_uncompressed_bytes: int = 4096 * MIB
    max_header_bytes: int = 1 * MIB
    # Real tables compress 3-30x; a stream still above this ratio after ``ratio_check_bytes`` of output
    # is a decompression bomb and is refused before it fills the disk.
    max_compression_ratio: int = 250
    ratio_check_bytes: int = 64 * MIB


@dataclass(frozen=True)
class RawTable:
    """A file read as a table: columns as the file names them, values as read (not yet coerced)."""

    frame: pl.DataFrame
    format: str  # one of contract.ALL_FORMATS
    header: list[str]
    # Physical line of the first data row (1-based) for text formats, so examples point at file lines.
    first_data_line: int | None


def detect_format(name: str, head: bytes) -> str:
    """The file's format from its content where that is certain (gzip, Parquet), else its name."""
    lower = name.lower()
    compressed = head.startswith(_GZIP_MAGIC)
    stem = lower[:-3] if lower.endswith(".gz") else lower
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if lower.endswith(".gz") and not compressed:
        raise InputReadError("not_gzip", f"{name} has a .gz name but is not gzip-compressed")
    suffix = Path(stem).suffix
    if suffix in _EXTENSIONS:
        kind = _EXTENSIONS[suffix]
    elif suffix == "":
        kind = "csv"
    else:
        raise InputReadError(
            "unsupported_format",
            f"{name}: unsupported file type {suffix!r}; expected CSV (.csv, .csv.gz), Parquet (.parquet) "
            "or JSON Lines (.jsonl)",
        )
    if kind == "parquet":
        if compressed:
            raise InputReadError("unsupported_format", f"{name}: gzip-compressed Parquet is not supported")
        raise InputReadError("corrupt_parquet", f"{name} is named as Parquet but does not start with 'PAR1'")
    return f"{kind}.gz" if compressed else kind


DEFAULT_LIMITS = Limits()


def read_table(path: Path, contract: Contract, *, name: str | None = None, limits: Limits = DEFAULT_LIMITS) -> RawTable:
    """Read ``path`` as the contract's dataset, or raise :class:`InputReadError` saying why not."""
    name = name or path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputReadError("not_found", f"{name}: cannot be opened: {exc.strerror or exc}") from None
    if size == 0:
        raise InputReadError("empty_file", f"{name} is empty (0 bytes)")
    if size > limits.max_bytes:
        raise InputReadError(
            "too_large",
            f"{name} is {size / MIB:,.0f} MiB, above this engine's limit of {limits.max_bytes / MIB:,.0f} MiB",
        )
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    fmt = detect_format(name, head)
    if fmt not in contract.format.accepted:
        raise InputReadError(
            "format_not_accepted",
            f"{name} is {fmt}, which the {contract.dataset} contract does not accept "
            f"(accepted: {', '.join(contract.format.accepted)})",
        )
    if fmt == "parquet":
        return _read_parquet(path, name)
    if fmt.endswith(".gz"):
        with _inflated(path, name, limits) as plain:
            return _read_text(plain, fmt.removesuffix(".gz"), fmt, contract, name, limits)
    return _read_text(path, fmt, fmt, contract, name, limits)


@contextmanager
def _inflated(path: Path, name: str, limits: Limits) -> Iterator[Path]:
    """Inflate a gzip file to a temporary file beside the system temp dir, refusing to pass the cap."""
    fd, tmp = tempfile.mkstemp(prefix="sagelane-", suffix=".inflated")
    try:
        written = 0
        compressed_size = path.stat().st_size
        with os.fdopen(fd, "wb") as out, path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as src:
            try:
                while chunk := src.read(4 * MIB):
                    written += len(chunk)
                    consumed = max(raw.tell(), 1)
                    if written > limits.max_uncompressed_bytes:
                        raise InputReadError(
                            "decompression_limit",
                            f"{name} inflates to more than {limits.max_uncompressed_bytes / MIB:,.0f} MiB "
                            f"(from {compressed_size / MIB:,.1f} MiB compressed); refused as a possible "
                            "decompression bomb",
                        )
                    if written >= limits.ratio_check_bytes and written / consumed > limits.max_compression_ratio:
                        raise InputReadError(
                            "decompression_limit",
                            f"{name} inflates {written / consumed:,.0f}:1 ({written / MIB:,.0f} MiB from the first "
                            f"{consumed / MIB:,.2f} MiB), far beyond any real table; refused as a decompression bomb",
                        )
                    out.write(chunk)
            except EOFError:
                raise InputReadError(
                    "truncated_gzip",
                    f"{name} is a truncated gzip file: its {compressed_size:,} bytes end before the gzip end "
                    "marker (was the upload interrupted?)",
                ) from None
            except (gzip.BadGzipFile, zlib.error) as exc:
                raise InputReadError("corrupt_gzip", f"{name} is not a valid gzip file: {exc}") from None
        if written == 0:
            raise InputReadError("empty_file", f"{name} is empty once decompressed")
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_parquet(path: Path, name: str) -> RawTable:
    try:
        frame = pl.read_parquet(path)
    except _READ_ERRORS as exc:
        raise InputReadError("corrupt_parquet", f"{name} is not a readable Parquet file: {_first_line(exc)}") from None
    return RawTable(frame=frame, format="parquet", header=frame.columns, first_data_line=None)


def _read_text(path: Path, kind: str, fmt: str, contract: Contract, name: str, limits: Limits) -> RawTable:
    first_line = _first_line_of(path, name, limits)
    if kind == "jsonl":
        return _read_jsonl(path, fmt, name, first_line)
    header = _parse_header(first_line, contract, name)
    numeric = {
        c.name: _POLARS_READ_TYPES[c.type]
        for c in contract.columns
        if c.type in _POLARS_READ_TYPES and c.name in header
    }
    options = dict(
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
        _raise_if_not_utf8(path, name)
        try:
            # Slow path for files with type problems: everything as text, coerced (and counted) later.
            frame = pl.read_csv(path, **options)
        except _READ_ERRORS as exc:
            _raise_first_ragged_line(path, contract.format.delimiter, len(header), name)
            raise InputReadError("malformed_csv", f"{name} cannot be parsed as CSV: {_first_line(exc)}") from None
    return RawTable(frame=frame, format=fmt, header=header, first_data_line=2)


def _read_jsonl(path: Path, fmt: str, name: str, first_line: bytes) -> RawTable:
    if not first_line.lstrip().startswith(b"{"):
        raise InputReadError(
            "not_jsonl",
            f"{name}: the first line is not a JSON object, so this is not a JSON Lines file (one object per line)",
        )
    try:
        frame = pl.read_ndjson(path, infer_schema_length=None)
    except _READ_ERRORS as exc:
        _raise_if_not_utf8(path, name)
        raise InputReadError("malformed_jsonl", f"{name} is not valid JSON Lines: {_first_line(exc)}") from None
    return RawTable(frame=frame, format=fmt, header=frame.columns, first_data_line=1)


def _first_line_of(path: Path, name: str, limits: Limits) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(limits.max_header_bytes + 1)
    if b"\x00" in head[:65536]:
        raise InputReadError(
            "binary_file", f"{name} contains binary data (NUL bytes): it is not a text table (CSV / JSON Lines)"
        )
    if not head.strip():
        raise InputReadError("empty_file", f"{name} holds only whitespace: no header, no rows")
    end = head.find(b"\n")
    if end == -1 and len(head) > limits.max_header_bytes:
        raise InputReadError(
            "line_too_long",
            f"{name}: the first line is longer than {limits.max_header_bytes / MIB:,.0f} MiB with no line break: "
            "not a table with a header (one enormous line?)",
        )
    line = head if end == -1 else head[:end]
    return line.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")


def _parse_header(line: bytes, contract: Contract, name: str) -> list[str]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputReadError(
            "not_utf8", f"{name} is not UTF-8: byte 0x{line[exc.start]:02x} in the header line (line 1)"
        ) from None
    delimiter = contract.format.delimiter
    header = next(csv.reader([text], delimiter=delimiter))
    expected = [c.name for c in contract.columns]
    if len(header) == 1 and len(expected) > 1:
        for other in _CANDIDATE_DELIMITERS:
            if other == delimiter:
                continue
            fields = next(csv.reader([text], delimiter=other))
            if len(fields) > 1 and len(set(fields) & set(expected)) >= max(1, len(expected) // 2):
                raise InputReadError(
                    "wrong_delimiter",
                    f"{name}: the header is separated by {other!r} but the {contract.dataset} contract expects "
                    f"{delimiter!r}",
                )
    if duplicates := repeated(header):
        shown = ", ".join(duplicates[:10]) + (" ..." if len(duplicates) > 10 else "")
        raise InputReadError("duplicate_columns", f"{name}: the header repeats column(s) {shown}")
    return header


def _raise_if_not_utf8(path: Path, name: str) -> None:
    """Find the first byte that is not UTF-8, streaming, and report its line."""
    line = 1
    offset = 0
    carry = b""
    with path.open("rb") as fh:
        while chunk := fh.read(8 * MIB):
            data = carry + chunk
            try:
                data.decode("utf-8")
                carry = b""
            except UnicodeDecodeError as exc:
                if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
                    # A multi-byte character split by the chunk boundary: decode it with the next chunk.
                    line += data.count(b"\n", 0, exc.start)
                    offset += exc.start
                    carry = data[exc.start :]
                    continue
                line += data.count(b"\n", 0, exc.start)
                raise InputReadError(
                    "not_utf8",
                    f"{name} is not UTF-8: byte 0x{data[exc.start]:02x} at line {line} (byte offset "
                    f"{offset + exc.start:,}); re-export the file as UTF-8",
                ) from None
            line += data.count(b"\n")
            offset += len(data)
    if carry:
        raise InputReadError("not_utf8", f"{name} is not UTF-8: it ends inside a multi-byte character")


def _raise_first_ragged_line(path: Path, delimiter: str, width: int, name: str) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        try:
            for fields in reader:
                if len(fields) > width:
                    raise InputReadError(
                        "malformed_csv",
                        f"{name}: line {reader.line_num} has {len(fields)} fields but the header has {width}",
                    )
        except csv.Error as exc:
            raise InputReadError("malformed_csv", f"{name}: line {reader.line_num}: {exc}") from None


def closest_name(missing: str, candidates: list[str]) -> str | None:
    """A header name that is probably ``missing`` renamed (case, spacing or a small edit)."""
    folded = {c.strip().lower().replace(" ", "_"): c for c in candidates}
    if missing.lower() in folded:
        return folded[missing.lower()]
    match = difflib.get_close_matches(missing, candidates, n=1, cutoff=0.75)
    return match[0] if match else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
