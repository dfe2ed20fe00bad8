"""Build the training code's wheelhouse: ``build/training/wheelhouse/`` (``requirements.txt`` + ``wheels/``).

Which distributions: ``sagelane.training.wheelhouse.plan`` over ``training/requirements.txt`` and the images
the templates name (``sagelane.training.images.RUNTIMES``). Their versions and hashes come from ``uv.lock``
(dependency group ``training``, for the images' Python); pip downloads the wheels for CPython of the images
on manylinux x86_64, checking each against the lock's hashes. Rebuilt only when its inputs change. This
runs in the install step; synth only packs the result into the code tarball.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import requires
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sagelane.training.images import RUNTIMES  # noqa: E402
from sagelane.training.wheelhouse import (  # noqa: E402
    REQUIREMENTS,
    WHEELS,
    hashed_requirements,
    linux_environment,
    location,
    plan,
    read_requirements,
)

OUT = location(ROOT)
# glibc of the images (Ubuntu 22.04+): wheels tagged up to manylinux_2_28 run there
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def locked(uv: str, python: str) -> dict[str, tuple[str, list[str]]]:
    """name → (version, hashes) of the training group in uv.lock, for CPython ``python`` on Linux."""
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name

    text = subprocess.run(
        [uv, "export", "--frozen", "--only-group", "training", "--no-emit-project", "--no-header", "--quiet"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    environment = linux_environment(python)
    out: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=\S)", text):
        head = re.match(r"([A-Za-z0-9_.-]+)==([^\s;]+)\s*(?:;\s*([^\\]+))?", block)
        if not head:
            continue
        name, version, marker = head.groups()
        if marker and not Marker(marker.strip()).evaluate(environment):
            continue
        out[canonicalize_name(name)] = (version, re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uv", default="uv", help="path of the uv binary")
    parser.add_argument("--pip", default="pip", help="path of a pip to download with")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    pythons = {runtime.python for runtime in RUNTIMES.values()}
    if len(pythons) != 1:
        raise SystemExit(f"the images run different Pythons {sorted(pythons)}: one wheelhouse cannot serve both")
    (python,) = pythons
    lock = locked(args.uv, python)
    requirements = read_requirements((ROOT / "training" / REQUIREMENTS).read_text())
    decided = plan(
        requirements,
        {name: runtime.packages for name, runtime in RUNTIMES.items()},
        python=python,
        requires=requires,
        version=lambda name: lock[name][0] if name in lock else "?",
    )
    missing = sorted(decided.ship - set(lock))
    if missing:
        raise SystemExit(f"{missing}: needed in the containers but not in uv.lock's training group")
    wanted = {name: lock[name] for name in sorted(decided.ship)}
    stamp = hashlib.sha256(json.dumps([python, PLATFORMS, wanted], sort_keys=True).encode()).hexdigest()
    stamp_path = OUT / "stamp"
    if not args.force and stamp_path.exists() and stamp_path.read_text() == stamp:
        return 0
    print(f"==> building {OUT.relative_to(ROOT)} for CPython {python} manylinux x86_64", file=sys.stderr)
    for image, name in sorted(decided.replaced):
        print(f"    note: replaces the {image} image's {name} (needs {lock[name][0]})", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        request = Path(tmp) / "locked.txt"
        request.write_text(
            "".join(
                f"{n}=={v} " + " ".join(f"--hash=sha256:{h}" for h in hashes) + "\n"
                for n, (v, hashes) in wanted.items()
            )
        )
        download = Path(tmp) / WHEELS
        platforms = [item for platform in PLATFORMS for item in ("--platform", platform)]
        abi = python.replace(".", "")
        subprocess.run(
            [
                args.pip,
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                *platforms,
                "--python-version",
                python,
                "--implementation",
                "cp",
                "--abi",
                f"cp{abi}",
                "--abi",
                "abi3",
                "--abi",
                "none",
                "--require-hashes",
                "--requirement",
                str(request),
                "--dest",
                str(download),
            ],
            check=True,
        )
        shipped: dict[str, tuple[str, str]] = {}
        for wheel in sorted(download.glob("*.whl")):
            from packaging.utils import canonicalize_name, parse_wheel_filename

            name, version, _, _ = parse_wheel_filename(wheel.name)
            shipped[canonicalize_name(name)] = (str(version), hashlib.sha256(wheel.read_bytes()).hexdigest())
        if set(shipped) != set(wanted):
            raise SystemExit(f"pip downloaded {sorted(shipped)}, expected {sorted(wanted)}")
        staged = Path(tmp) / "wheelhouse"
        staged.mkdir()
        shutil.move(str(download), staged / WHEELS)
        (staged / REQUIREMENTS).write_text(hashed_requirements(shipped))
        if OUT.exists():
            shutil.rmtree(OUT)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), OUT)
    stamp_path.write_text(stamp)
    size = sum(p.stat().st_size for p in (OUT / WHEELS).glob("*.whl"))
    print(f"    {len(shipped)} wheels, {size / 2**20:.1f} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
