"""The bad-file corpus: every way a file can be wrong, each with the verdict and message it must get.

Shared by the engine tests, the CLI tests and (later) the Spark engine parity tests.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

PENGUINS = (Path(__file__).resolve().parent.parent / "samples" / "penguins.csv").read_bytes()
HEADER, *ROWS = PENGUINS.decode().splitlines()


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    make: Callable[[Path], None]
    status: str  # passed | failed | unreadable
    # For unreadable files: the error code. For failed files: rule ids that must fail.
    expect: tuple[str, ...]
    message: str  # a fragment the report's message (error or a failed rule) must contain


def _text(text: str) -> Callable[[Path], None]:
    return lambda p: p.write_text(text, encoding="utf-8")


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _rows(transform: Callable[[list[str]], list[str]], header: str = HEADER) -> Callable[[Path], None]:
    return _text("\n".join([header, *transform(list(ROWS))]) + "\n")


def _replace_field(row: str, index: int, value: str) -> str:
    fields = row.split(",")
    fields[index] = value
    return ",".join(fields)


def _gzip_bomb(path: Path, gib: float = 2.0) -> None:
    """~2 MB of gzip members that inflate to ``gib`` GiB of zeros."""
    member = gzip.compress(b"0" * (1 << 20), compresslevel=9)
    with path.open("wb") as out:
        for _ in range(int(gib * 1024)):
            out.write(member)


def _parquet(frame: pl.DataFrame) -> Callable[[Path], None]:
    return lambda p: frame.write_parquet(p)


BAD_FILES: list[Case] = [
    Case("empty file", "empty.csv", _bytes(b""), "unreadable", ("empty_file",), "is empty (0 bytes)"),
    Case("whitespace only", "blank.csv", _text("\n\n   \n"), "unreadable", ("empty_file",), "only whitespace"),
    Case("header only", "header.csv", _text(HEADER + "\n"), "failed", ("dataset.min_rows",), "header but no data rows"),
    Case(
        "wrong delimiter",
        "semi.csv",
        _text(PENGUINS.decode().replace(",", ";")),
        "unreadable",
        ("wrong_delimiter",),
        "separated by ';' but the penguins contract expects ','",
    ),
    Case(
        "non-UTF-8 bytes",
        "latin1.csv",
        _bytes(
            (HEADER + "\n" + "\n".join(ROWS[:5]) + "\nAdelie,Torgersen,39.1,18.7,181,3750,m\xe4le,2007\n").encode(
                "latin-1"
            )
        ),
        "unreadable",
        ("not_utf8",),
        "byte 0xe4 at line 7",
    ),
    Case(
        "truncated gzip",
        "cut.csv.gz",
        _bytes(gzip.compress(PENGUINS)[:700]),
        "unreadable",
        ("truncated_gzip",),
        "truncated gzip file",
    ),
    Case(
        "corrupt gzip",
        "corrupt.csv.gz",
        _bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"garbage" * 50),
        "unreadable",
        ("corrupt_gzip",),
        "not a valid gzip file",
    ),
    Case(
        ".gz name without gzip", "plain.csv.gz", _bytes(PENGUINS), "unreadable", ("not_gzip",), "is not gzip-compressed"
    ),
    Case(
        "gzip bomb (2 GiB of zeros)",
        "bomb.csv.gz",
        _gzip_bomb,
        "unreadable",
        ("decompression_limit",),
        "decompression bomb",
    ),
    Case(
        "missing column",
        "missing.csv",
        _text("\n".join(",".join(r.split(",")[:7]) for r in [HEADER, *ROWS]) + "\n"),
        "failed",
        ("schema.missing_columns",),
        "missing column(s): year",
    ),
    Case(
        "extra column",
        "extra.csv",
        _rows(lambda rows: [r + ",blue" for r in rows], HEADER + ",colour"),
        "failed",
        ("schema.unexpected_columns",),
        "column(s) not in the contract: colour",
    ),
    Case(
        "renamed column",
        "renamed.csv",
        _rows(lambda rows: rows, HEADER.replace("bill_length_mm", "bill_len_mm")),
        "failed",
        ("schema.missing_columns",),
        "bill_length_mm (found 'bill_len_mm': renamed?)",
    ),
    Case(
        "renamed by case",
        "case.csv",
        _rows(lambda rows: rows, HEADER.replace("island", "Island")),
        "failed",
        ("schema.missing_columns", "schema.unexpected_columns"),
        "island (found 'Island': renamed?)",
    ),
    Case(
        "wrong types",
        "types.csv",
        _rows(lambda rows: [_replace_field(r, 5, "heavy") if i % 50 == 0 else r for i, r in enumerate(rows)]),
        "failed",
        ("column.body_mass_g.type",),
        "7 value(s) are not a number",
    ),
    Case(
        "out-of-range values",
        "range.csv",
        _rows(lambda rows: [_replace_field(r, 7, "1999") if i < 3 else r for i, r in enumerate(rows)]),
        "failed",
        ("column.year.range",),
        "3 value(s) outside [2007, 2030] (3 below, 0 above)",
    ),
    Case(
        "unknown categories",
        "categories.csv",
        _rows(lambda rows: [r.replace("Adelie", "Emperor", 1) if i % 40 == 0 else r for i, r in enumerate(rows)]),
        "failed",
        ("column.species.allowed_values",),
        "value(s) not in {Adelie, Chinstrap, Gentoo}",
    ),
    Case(
        "too many nulls",
        "nulls.csv",
        _rows(lambda rows: [_replace_field(r, 2, "NA") if i % 10 == 0 else r for i, r in enumerate(rows)]),
        "failed",
        ("column.bill_length_mm.non_null_ratio",),
        "of values present (minimum 95.0%)",
    ),
    Case(
        "duplicate rows",
        "dups.csv",
        _rows(lambda rows: rows + rows[:20]),
        "failed",
        ("dataset.duplicate_rows",),
        "20 duplicate row(s)",
    ),
    Case(
        "ragged row",
        "ragged.csv",
        _rows(lambda rows: [*rows[:10], rows[10] + ",extra,fields", *rows[11:]]),
        "unreadable",
        ("malformed_csv",),
        "line 12 has 10 fields but the header has 8",
    ),
    Case(
        "not tabular: an image",
        "picture.csv",
        _bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4),
        "unreadable",
        ("binary_file",),
        "contains binary data",
    ),
    Case(
        "not tabular: prose",
        "notes.csv",
        _text("Meeting notes\nWe discussed the penguins.\nNext steps: none\n"),
        "failed",
        ("schema.columns",),
        "none of the contract's 8 columns appear in the file",
    ),
    Case(
        "single enormous line",
        "oneline.csv",
        _bytes(b"a" * (3 * 1024 * 1024)),
        "unreadable",
        ("line_too_long",),
        "longer than 1 MiB with no line break",
    ),
    Case(
        "unsupported type",
        "table.xlsx",
        _bytes(b"PK\x03\x04" + b"\x00" * 100),
        "unreadable",
        ("unsupported_format",),
        "unsupported file type '.xlsx'",
    ),
    Case(
        "corrupt parquet",
        "broken.parquet",
        _bytes(b"PAR1" + b"\x00\x01" * 200),
        "unreadable",
        ("corrupt_parquet",),
        "not a readable Parquet file",
    ),
    Case(
        "jsonl that is a JSON array",
        "array.jsonl",
        _text('[{"species": "Adelie"}]\n'),
        "unreadable",
        ("not_jsonl",),
        "not a JSON object",
    ),
    Case(
        "jsonl with a broken line",
        "broken.jsonl",
        _text('{"species": "Adelie", "island": "Dream"}\n{"species": "Adelie", "isla\n'),
        "unreadable",
        ("malformed_jsonl",),
        "not valid JSON Lines",
    ),
    Case(
        "parquet with wrong types",
        "typed.parquet",
        _parquet(pl.read_csv(PENGUINS, null_values=["NA"]).with_columns(pl.col("year").cast(pl.String) + "y")),
        "failed",
        ("column.year.type",),
        "344 value(s) are not an integer",
    ),
]

WIDE_HEADER = ",".join(f"c{i}" for i in range(50_000))
BAD_FILES.append(
    Case(
        "a header of 50,000 columns",
        "wide.csv",
        _text(WIDE_HEADER + "\n" + ",".join("1" * 50_000) + "\n"),
        "failed",
        ("schema.columns",),
        "none of the contract's 8 columns appear in the file",
    )
)
