"""The training source directory (``training/``) as SageMaker script mode wants it: a tar.gz.

Deterministic (sorted entries, fixed times and owners), so its CDK asset hash changes only when the code
does; named after its content hash, so parallel builds agree.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

_SKIP = ("__pycache__", ".pyc", ".pytest_cache")


def source_tarball_bytes(source_dir: Path) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in source_dir.rglob("*") if p.is_file()):
            relative = path.relative_to(source_dir).as_posix()
            if any(s in relative for s in _SKIP):
                continue
            info = tarfile.TarInfo(relative)
            data = path.read_bytes()
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def build_source_tarball(source_dir: Path, out_dir: Path) -> Path:
    data = source_tarball_bytes(source_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"sourcedir-{hashlib.sha256(data).hexdigest()[:16]}.tar.gz"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)
    return path
