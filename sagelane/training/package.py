"""The training source directory (``training/``) as SageMaker script mode wants it: a tar.gz.

With a wheelhouse (``build/training/wheelhouse``, built at install by scripts/build_training_wheels.py),
the tarball's ``requirements.txt`` is the wheelhouse's hashed, offline one and its wheels go under
``wheels/``: the containers install exactly those, verified, with no index (sagelane.training.wheelhouse).

Deterministic (sorted entries, fixed times and owners), so its CDK asset hash changes only when the code
or a wheel does; named after the hash of what goes in, so parallel builds agree and an unchanged tree is
not packed again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

from sagelane.errors import SageLaneError
from sagelane.training.wheelhouse import REQUIREMENTS, WHEELS, wheel_files

_SKIP = ("__pycache__", ".pyc", ".pytest_cache")


def _entries(source_dir: Path, wheelhouse: Path | None) -> Iterator[tuple[str, Path]]:
    """(name in the tarball, file) for each file, sorted by name."""
    entries: dict[str, Path] = {}
    for path in source_dir.rglob("*"):
        relative = path.relative_to(source_dir).as_posix()
        if path.is_file() and not any(s in relative for s in _SKIP):
            entries[relative] = path
    if wheelhouse is not None:
        requirements = wheelhouse / REQUIREMENTS
        wheels = wheel_files(wheelhouse)
        if not requirements.is_file() or not wheels:
            raise SageLaneError(
                f"{wheelhouse}: no wheelhouse for the training code (run ./dev setup: "
                "scripts/build_training_wheels.py builds it)"
            )
        entries[REQUIREMENTS] = requirements  # the hashed, offline one replaces training/requirements.txt
        for wheel in wheels:
            entries[f"{WHEELS}/{wheel.name}"] = wheel
    yield from sorted(entries.items())


def source_tarball_bytes(source_dir: Path, wheelhouse: Path | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative, path in _entries(source_dir, wheelhouse):
            info = tarfile.TarInfo(relative)
            data = path.read_bytes()
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)  # wheels are compressed already


def build_source_tarball(source_dir: Path, out_dir: Path, wheelhouse: Path | None = None) -> Path:
    digest = hashlib.sha256()
    for relative, path in _entries(source_dir, wheelhouse):
        digest.update(relative.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"sourcedir-{digest.hexdigest()[:16]}.tar.gz"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(source_tarball_bytes(source_dir, wheelhouse))
        partial.replace(path)
    return path
