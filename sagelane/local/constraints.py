"""Request validation: each request the embedded AWS serves is checked against its service model.

AWS rejects a request whose members break the constraints of the API's model — required members, string
and list lengths, patterns, enums, numeric ranges — with a ValidationException naming each violation.
botocore checks only some of them on the client (required members, types, minimum lengths; no maximum,
no pattern, no enum), moto's Step Functions interpreter turns even that off, and moto itself checks
almost nothing: a request AWS refuses (``CustomerMetadataProperties`` values with ``{``, or longer than
256 characters) passed offline. ``violations`` walks the parsed request against the botocore shapes the
way the service does; ``sagelane.local.gate`` calls it for every request moto serves (any client, any
protocol but S3's) before the request reaches moto.

Patterns are the model's (Java-style, with ``\\p{L}`` classes: compiled with the ``regex`` module) and
match the whole value, as the services' ``Pattern.matches`` does. A pattern that does not compile is
skipped and counted in ``SKIPPED_PATTERNS``, never guessed at.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import regex
from botocore.model import Shape

MAX_REPORTED = 10  # violations named in one message (AWS lists a few, then stops)
SKIPPED_PATTERNS: set[str] = set()

# error codes a service declares for bad input, most specific first; ValidationException otherwise
VALIDATION_CODES = (
    "ValidationException",
    "InvalidParameterValueException",
    "InvalidParameterValue",
    "InvalidParameterException",
    "InvalidParameter",
    "InvalidInputException",
    "InvalidRequestException",
)


@functools.cache
def _pattern(pattern: str) -> regex.Pattern[str] | None:
    text = pattern
    if text.startswith("^"):
        text = text[1:]
    # some models anchor and then quantify the anchor: "([...]*)${1,256}" — the length is checked apart
    text = regex.sub(r"\$(\{\d*,?\d*\})?$", "", text)
    try:
        return regex.compile(text, regex.VERSION0)
    except regex.error:
        SKIPPED_PATTERNS.add(pattern)
        return None


def _quote(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _member_path(path: str, name: str) -> str:
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def violations(shape: Shape, value: Any, path: str = "") -> list[str]:
    """The constraint violations of ``value`` against ``shape``, in AWS's words."""
    out: list[str] = []
    _check(shape, value, path, out)
    return out


def _check(shape: Shape, value: Any, path: str, out: list[str]) -> None:
    if value is None:
        return
    meta = shape.metadata
    kind = shape.type_name
    where = f"at '{path}'" if path else ""

    def fail(constraint: str) -> None:
        out.append(f"Value '{_quote(value)}' {where} failed to satisfy constraint: {constraint}".replace("  ", " "))

    if kind == "structure":
        if not isinstance(value, Mapping):
            return
        for name in shape.required_members:
            if value.get(name) is None:
                where_null = _member_path(path, name)
                out.append(f"Value null at '{where_null}' failed to satisfy constraint: Member must not be null")
        members = shape.members
        for name, item in value.items():
            member = members.get(name)
            if member is not None:
                _check(member, item, _member_path(path, name), out)
        return
    if kind == "list":
        if not isinstance(value, list | tuple):
            return
        _length(meta, len(value), fail)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}.{index + 1}.member" if path else f"{index + 1}", out)
        return
    if kind == "map":
        if not isinstance(value, Mapping):
            return
        _length(meta, len(value), fail)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", out)
            _check(shape.value, item, f"{path}.{key}" if path else str(key), out)
        return
    if kind == "string":
        if not isinstance(value, str):
            return
        _length(meta, len(value), fail)
        if shape.enum and value not in shape.enum:
            fail(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = meta.get("pattern")
        if pattern:
            compiled = _pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                fail(f"Member must satisfy regular expression pattern: {pattern}")
        return
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if "min" in meta and value < meta["min"]:
            fail(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            fail(f"Member must have value less than or equal to {meta['max']}")
        return
    if kind == "blob" and isinstance(value, bytes | str):
        _length(meta, len(value), fail)
    if kind == "timestamp" and not isinstance(value, str | int | float | dt.datetime):
        fail("Member must be a timestamp")


def _length(meta: Mapping[str, Any], size: int, fail: Any) -> None:
    if "min" in meta and size < meta["min"]:
        fail(f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and size > meta["max"]:
        fail(f"Member must have length less than or equal to {meta['max']}")


def message(found: list[str]) -> str:
    count = len(found)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(found[:MAX_REPORTED])


def error_code(operation: Any) -> str:
    """The code the service answers bad input with: the first of VALIDATION_CODES the operation (or, as
    for SageMaker, whose model lists none, the service) declares; ValidationException otherwise."""
    declared = {shape.name for shape in operation.error_shapes}
    for code in VALIDATION_CODES:
        if code in declared:
            return code
    return "ValidationException"
