"""The training code's offline, hashed install (sagelane.training.wheelhouse): which distributions ship, what
the code tarball carries, and — with a real pip — that the containers' ``pip install -r requirements.txt``
installs exactly the shipped wheels, keeps what the image has, refuses a tampered wheel and reaches no index."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from sagelane.errors import SageLaneError
from sagelane.training import wheelhouse
from sagelane.training.package import build_source_tarball, source_tarball_bytes

ROOT = Path(__file__).resolve().parents[2]
PIP = ROOT / ".tools" / "bin" / "pip"  # the install step's pip (./dev setup)


def _plan(requirements, images, graph, versions=None):
    return wheelhouse.plan(
        requirements,
        images,
        python="3.12",
        requires=lambda name: graph.get(name, []),
        version=lambda name: (versions or {}).get(name, "1.0"),
    )


def test_a_dependency_every_image_has_at_an_admitted_version_stays_the_images():
    graph = {"skl2onnx": ["onnx>=1.2", "scikit-learn>=1.1"], "onnx": ["numpy>=1.23", "protobuf>=6.31"]}
    images = {
        "a": {"scikit-learn": "==1.9.0", "numpy": "==2.5.1"},
        "b": {"scikit-learn": "==1.8.0", "numpy": "==2.1.0"},
    }
    decided = _plan({"skl2onnx": "==1.20.0"}, images, graph)
    assert decided.ship == {"skl2onnx", "onnx", "protobuf"} and decided.replaced == set()


def test_a_pin_a_dependency_rules_out_is_shipped_and_reported_replaced():
    graph = {"onnx": ["protobuf>=6.31", "typing-extensions; python_version < '3.10'"]}
    images = {"sklearn": {}, "xgboost": {"protobuf": "==3.20.2"}}
    decided = _plan({"onnx": "==1.23.2"}, images, graph, {"protobuf": "6.33.6", "onnx": "1.23.2"})
    assert decided.ship == {"onnx", "protobuf"}  # the marker is false on Python 3.12
    assert decided.replaced == {("xgboost", "protobuf")}


def test_a_requirement_one_image_lacks_is_shipped_for_all():
    decided = _plan({"pyarrow": ">=17", "orjson": "==3.13.0"}, {"a": {"pyarrow": "==25.0.0"}, "b": {}}, {})
    assert decided.ship == {"pyarrow", "orjson"}


def test_the_tarball_carries_the_hashed_requirements_and_the_wheels(tmp_path):
    source = tmp_path / "training"
    source.mkdir()
    (source / "train.py").write_text("print('train')\n")
    (source / "requirements.txt").write_text("onnx==1.23.2\n")
    house = tmp_path / "wheelhouse"
    (house / wheelhouse.WHEELS).mkdir(parents=True)
    wheel = house / wheelhouse.WHEELS / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    (house / "requirements.txt").write_text(wheelhouse.hashed_requirements({"demo": ("1.0", "0" * 64)}))
    with tarfile.open(fileobj=io.BytesIO(source_tarball_bytes(source, house)), mode="r:gz") as tar:
        names = tar.getnames()
        requirements = tar.extractfile("requirements.txt").read().decode()  # type: ignore[union-attr]
    assert names == ["requirements.txt", "train.py", "wheels/demo-1.0-py3-none-any.whl"]
    assert requirements.splitlines()[2:] == ["--no-index", "--find-links wheels", f"demo==1.0 --hash=sha256:{'0' * 64}"]
    first = build_source_tarball(source, tmp_path / "out", house)
    assert build_source_tarball(source, tmp_path / "out", house) == first  # an unchanged tree is not packed again
    wheel.write_bytes(b"another wheel")
    assert build_source_tarball(source, tmp_path / "out", house) != first  # a wheel is part of the code's version
    with pytest.raises(SageLaneError, match=r"no wheelhouse for the training code \(run ./dev setup"):
        source_tarball_bytes(source, tmp_path / "missing")


def _wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal valid pure-Python wheel (PEP 427)."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            + "".join(f"Requires-Dist: {r}\n" for r in requires)
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: sagelane-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for path, data in files.items()
    )
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def _pip(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert PIP.exists(), f"{PIP}: the install step's pip is missing (./dev setup)"
    command = [str(PIP), "--python", str(python), "--disable-pip-version-check", "--no-input", *args]
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}  # this machine's pip configuration plays no part
    for name in [n for n in env if n.startswith("PIP_") and n != "PIP_CONFIG_FILE"]:
        del env[name]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_pip_installs_the_shipped_wheels_offline_keeping_the_images_own_and_refusing_a_tampered_one(tmp_path):
    """As a framework container starts: the image has ``base`` installed; the tarball's requirements.txt
    (written by ``hashed_requirements``) lists ``app``, which needs ``base``, and ``extra``, which it lacks."""
    image = tmp_path / "image"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(image)], check=True, timeout=60)
    python = image / "bin" / "python"
    built = tmp_path / "built"
    built.mkdir()
    assert _pip(python, "install", "--no-index", str(_wheel(built, "base", "1.0")), cwd=tmp_path).returncode == 0

    code = tmp_path / "code"
    (code / wheelhouse.WHEELS).mkdir(parents=True)
    shipped = {}
    for name, version, requires in (("app", "2.0", ("base>=0.5", "extra==3.0")), ("extra", "3.0", ())):
        wheel = _wheel(code / wheelhouse.WHEELS, name, version, requires)
        shipped[name] = (version, hashlib.sha256(wheel.read_bytes()).hexdigest())
    (code / "requirements.txt").write_text(wheelhouse.hashed_requirements(shipped))

    done = _pip(python, "install", "-r", str(code / "requirements.txt"), cwd=tmp_path)  # cwd: not the code dir
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Requirement already satisfied: base>=0.5" in done.stdout  # the image's own stays
    listed = _pip(python, "list", "--format=freeze", cwd=tmp_path).stdout.split()
    assert {"app==2.0", "extra==3.0", "base==1.0"} <= set(listed)

    # a wheel that is not the one the lock hashed: refused
    _pip(python, "uninstall", "-y", "app", "extra", cwd=tmp_path)
    tampered = code / wheelhouse.WHEELS / "extra-3.0-py3-none-any.whl"
    with zipfile.ZipFile(tampered, "a") as archive:
        archive.writestr("extra/evil.py", "raise SystemExit\n")
    refused = _pip(python, "install", "-r", str(code / "requirements.txt"), cwd=tmp_path)
    assert refused.returncode != 0 and "DO NOT MATCH THE HASHES" in refused.stderr

    # a dependency neither the image nor the wheelhouse has: an error, not a download
    (code / "requirements.txt").write_text(wheelhouse.hashed_requirements({"app": shipped["app"]}))
    tampered.unlink()
    missing = _pip(python, "install", "-r", str(code / "requirements.txt"), cwd=tmp_path)
    assert missing.returncode != 0 and "extra==3.0" in missing.stderr
