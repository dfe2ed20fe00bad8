"""What is checked on a file's bytes before any engine parses it, shared by both validation engines.

Files arrive from other teams and systems: empty, truncated, gzip bombs, Latin-1 exports, the wrong
delimiter, an image with a ``.csv`` name, a 2 GB single line. Each of these ends in an
:class:`InputReadError` whose ``code`` is stable and whose message names the problem and, where it can,
the line. Everything here reads a :class:`Source` as a stream, so the polars engine (a local file) and
the Spark engine (a local file or an S3 object) run the same checks and say the same thing. Memory stays
bounded: the header is examined from the first megabyte only and gzip is inflated in a stream with caps.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sagelane.contract import Contract, repeated
from sagelane.errors import InputReadError

MIB = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
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
    """Bounds on what one validation may read. The Lambda and the Glue job set them from config."""

    max_bytes: int = 1024 * MIB
    max_uncompressed_bytes: int = 4096 * MIB
    max_header_bytes: int = 1 * MIB
    # Real tables compress 3-30x; a stream still above this ratio after ``ratio_check_bytes`` of output
    # is a decompression bomb and is refused before it fills the disk.
    max_compression_ratio: int = 250
    ratio_check_bytes: int = 64 * MIB


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Source:
    """A file to validate: its name (for messages and the format), its size, and how to read it."""

    name: str
    size: int
    open: Callable[[], BinaryIO]

    @classmethod
    def local(cls, path: Path, name: str | None = None) -> Source:
        name = name or path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InputReadError("not_found", f"{name}: cannot be opened: {exc.strerror or exc}") from None
        return cls(name=name, size=size, open=lambda: path.open("rb"))

    @classmethod
    def s3_object(cls, s3: Any, bucket: str, key: str, version_id: str | None, size: int) -> Source:
        """An S3 object version, read as a stream (``s3`` is a boto3 client)."""
        extra = {"VersionId": version_id} if version_id else {}

        def open_body() -> BinaryIO:
            body = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]
            return io.BufferedReader(_Counted(body), buffer_size=MIB)

        return cls(name=key.rsplit("/", 1)[-1], size=size, open=open_body)


@dataclass(frozen=True)
class Preflight:
    """What the checks learnt: the format, and for CSV the header (parsed from the first line)."""

    format: str  # one of contract.ALL_FORMATS
    header: list[str] | None

    @property
    def compressed(self) -> bool:
        return self.format.endswith(".gz")

    @property
    def kind(self) -> str:
        return self.format.removesuffix(".gz")


def preflight(source: Source, contract: Contract, limits: Limits, *, inflate_to: BinaryIO | None = None) -> Preflight:
    """Check ``source`` up to its header, or raise :class:`InputReadError` saying why it cannot be a table.

    A gzip file is inflated once end to end under the caps, first (a bomb is a bomb before it is a file
    without line breaks): into ``inflate_to`` when given (the polars engine reads that copy), else
    nowhere (the Spark engine reads the compressed file itself).
    """
    name = source.name
    if source.size == 0:
        raise InputReadError("empty_file", f"{name} is empty (0 bytes)")
    if source.size > limits.max_bytes:
        raise InputReadError(
            "too_large",
            f"{name} is {source.size / MIB:,.0f} MiB, above this engine's limit of {limits.max_bytes / MIB:,.0f} MiB",
        )
    with source.open() as fh:
        head = fh.read(64 * 1024)
    fmt = detect_format(name, head)
    if fmt not in contract.format.accepted:
        raise InputReadError(
            "format_not_accepted",
            f"{name} is {fmt}, which the {contract.dataset} contract does not accept "
            f"(accepted: {', '.join(contract.format.accepted)})",
        )
    result = Preflight(format=fmt, header=None)
    if fmt == "parquet":
        return result
    if result.compressed:
        inflate(source, limits, inflate_to)
    with open_text(source, result) as fh:
        line = first_line(fh.read(limits.max_header_bytes + 1), name, limits)
    if result.kind == "jsonl":
        if not line.lstrip().startswith(b"{"):
            raise InputReadError(
                "not_jsonl",
                f"{name}: the first line is not a JSON object, so this is not a JSON Lines file (one object per line)",
            )
        return result
    return Preflight(format=fmt, header=parse_header(line, contract, name))


def detect_format(name: str, head: bytes) -> str:
    """The file's format from its content where that is certain (gzip, Parquet), else its name."""
    lower = name.lower()
    compressed = head.startswith(GZIP_MAGIC)
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


@contextmanager
def open_text(source: Source, pre: Preflight) -> Iterator[BinaryIO]:
    """The file's table bytes as a stream: inflated on the fly when it is gzip."""
    with source.open() as raw:
        if pre.compressed:
            with gzip.GzipFile(fileobj=raw, mode="rb") as plain:
                yield plain  # type: ignore[misc]
        else:
            yield raw


def inflate(source: Source, limits: Limits, out: BinaryIO | None) -> int:
    """Inflate a gzip source into ``out`` (or nowhere: a check), refusing to pass the caps.

    Returns the number of bytes it inflated to.
    """
    name = source.name
    written = 0
    with source.open() as raw:
        counted = _Counted(raw)
        with gzip.GzipFile(fileobj=counted, mode="rb") as src:
            try:
                while chunk := src.read(4 * MIB):
                    written += len(chunk)
                    consumed = max(counted.consumed, 1)
                    if written > limits.max_uncompressed_bytes:
                        raise InputReadError(
                            "decompression_limit",
                            f"{name} inflates to more than {limits.max_uncompressed_bytes / MIB:,.0f} MiB "
                            f"(from {source.size / MIB:,.1f} MiB compressed); refused as a possible "
                            "decompression bomb",
                        )
                    if written >= limits.ratio_check_bytes and written / consumed > limits.max_compression_ratio:
                        raise InputReadError(
                            "decompression_limit",
                            f"{name} inflates {written / consumed:,.0f}:1 ({written / MIB:,.0f} MiB from the first "
                            f"{consumed / MIB:,.2f} MiB), far beyond any real table; refused as a decompression bomb",
                        )
                    if out is not None:
                        out.write(chunk)
            except EOFError:
                raise InputReadError(
                    "truncated_gzip",
                    f"{name} is a truncated gzip file: its {source.size:,} bytes end before the gzip end "
                    "marker (was the upload interrupted?)",
                ) from None
            except (gzip.BadGzipFile, zlib.error) as exc:
                raise InputReadError("corrupt_gzip", f"{name} is not a valid gzip file: {exc}") from None
    if written == 0:
        raise InputReadError("empty_file", f"{name} is empty once decompressed")
    return written


class _Counted(io.RawIOBase):
    """A read-only stream that counts the bytes read through it (S3 bodies have no ``tell``)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed and hasattr(self._raw, "close"):
            self._raw.close()
        super().close()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def first_line(head: bytes, name: str, limits: Limits) -> bytes:
    """The header line from the first ``max_header_bytes + 1`` bytes of a text file."""
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


def parse_header(line: bytes, contract: Contract, name: str) -> list[str]:
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


def raise_if_not_utf8(stream: BinaryIO, name: str) -> None:
    """Find the first byte that is not UTF-8, streaming, and report its line."""
    line = 1
    offset = 0
    carry = b""
    while chunk := stream.read(8 * MIB):
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


def raise_first_ragged_line(stream: BinaryIO, delimiter: str, width: int, name: str) -> None:
    """Raise for the first line with more fields than the header (or that the CSV grammar rejects)."""
    text = io.TextIOWrapper(io.BufferedReader(_Counted(stream)), encoding="utf-8", errors="replace", newline="")
    reader = csv.reader(text, delimiter=delimiter)
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


def first_error_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
