"""Build the Lambda dependency layer: ``build/lambda/deps.zip`` (linux/arm64, the Lambda Python version).

The versions come from ``uv.lock`` (dependency group ``lambda``); wheels are fetched for the Lambda
platform with ``uv pip install --python-platform`` — no Docker. The zip is deterministic (sorted
entries, fixed timestamps) so its CDK asset hash only changes when a dependency does, and it is rebuilt
only when the exported requirements change. This runs in the install step; synth only reads the zip.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sagelane import settings

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "lambda"
PLATFORM = settings.LAMBDA_PLATFORM
PYTHON = settings.LAMBDA_PYTHON_VERSION
SKIP = ("__pycache__", ".dist-info/RECORD")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uv", default="uv", help="path of the uv binary")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    requirements = subprocess.run(
        [args.uv, "export", "--frozen", "--only-group", "lambda", "--no-emit-project", "--no-header", "--quiet"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    stamp = hashlib.sha256(f"{PLATFORM}|{PYTHON}|{requirements}".encode()).hexdigest()
    zip_path, stamp_path = OUT / "deps.zip", OUT / "deps.zip.stamp"
    if not args.force and zip_path.exists() and stamp_path.exists() and stamp_path.read_text() == stamp:
        return 0
    print(f"==> building {zip_path.relative_to(ROOT)} for {PLATFORM} / Python {PYTHON}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(requirements)
        target = Path(tmp) / "python"
        subprocess.run(
            [
                args.uv,
                "pip",
                "install",
                "--quiet",
                "--requirement",
                str(req),
                "--target",
                str(target),
                "--python-platform",
                PLATFORM,
                "--python-version",
                PYTHON,
                "--only-binary",
                ":all:",
                "--no-deps",
                "--require-hashes",
            ],
            cwd=ROOT,
            check=True,
        )
        partial = zip_path.with_suffix(".zip.partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in sorted(p for p in target.rglob("*") if p.is_file()):
                relative = path.relative_to(target.parent).as_posix()
                if any(s in relative for s in SKIP):
                    continue
                info = zipfile.ZipInfo(relative, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        shutil.move(partial, zip_path)
    stamp_path.write_text(stamp)
    print(f"    {zip_path.stat().st_size / 2**20:.1f} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
