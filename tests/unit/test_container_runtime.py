"""The training and inference code against the containers it runs in (finding 7): the Python and libraries
of each framework image the templates name (``sagelane.training.images.RUNTIMES``), checked offline."""

from __future__ import annotations

import ast
import hashlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from sagelane.training import wheelhouse
from sagelane.training.images import FRAMEWORKS, RUNTIMES

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "training"
# import name → distribution, for the third-party modules training/ imports
DISTRIBUTIONS = {"sklearn": "scikit-learn", "skl2onnx": "skl2onnx", "onnxmltools": "onnxmltools"}
LOCAL = {p.stem for p in TRAINING.glob("*.py")}


def _requirements() -> dict[str, str]:
    out = {}
    for line in (TRAINING / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", line).groups()
            out[name.lower()] = spec.strip()
    return out


def _imports() -> tuple[set[str], set[str]]:
    """(modules imported at module level, modules imported inside functions) by training/."""
    top, nested = set(), set()
    for path in TRAINING.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and not (isinstance(node, ast.ImportFrom) and node.level):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                where = top if node in tree.body else nested
                where.update(n.split(".")[0] for n in names)
    return _third_party(top), _third_party(nested)


def _third_party(names: set[str]) -> set[str]:
    return {n for n in names if n not in sys.stdlib_module_names and n not in LOCAL and n != "__future__"}


def test_every_framework_image_the_templates_name_has_its_runtime_recorded():
    assert set(RUNTIMES) == set(FRAMEWORKS)
    for runtime in RUNTIMES.values():
        assert re.fullmatch(r"3\.\d+", runtime.python) and runtime.packages and runtime.source


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_the_code_needs_no_newer_python_than_the_image_runs(framework):
    target = RUNTIMES[framework].python
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "vermin"),
            "--no-tips",
            "--violations",
            f"-t={target}-",
            "--eval-annotations",
            str(TRAINING),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"training/ needs a newer Python than {framework}'s {target}:\n{done.stdout}"


def test_every_library_the_code_imports_is_in_the_image_or_its_requirements():
    requirements = _requirements()
    top, nested = _imports()
    for module in top | nested:
        distribution = DISTRIBUTIONS.get(module, module).lower()
        providers = [f for f, r in RUNTIMES.items() if distribution in r.packages or distribution in requirements]
        assert providers, f"training/ imports {module}: neither an image nor requirements.txt provides it"
        if module in top:  # imported whatever the algorithm: every image must have it
            assert len(providers) == len(RUNTIMES), f"{module} is imported at module level but missing in some image"


def test_requirements_are_exact_pins_of_the_lock_with_wheels_for_the_images_python():
    lock = {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"] if "version" in p}
    requirements = _requirements()
    pythons = {r.python.replace(".", "") for r in RUNTIMES.values()}
    for name, spec in requirements.items():
        if all(name in r.packages for r in RUNTIMES.values()):
            # every image brings it: the specifier must admit each image's version (pip then installs nothing)
            for framework, runtime in RUNTIMES.items():
                installed = runtime.packages[name].lstrip("=")
                assert SpecifierSet(spec).contains(installed), f"{name}{spec} would replace {framework}'s {installed}"
            continue
        assert spec.startswith("=="), f"{name}{spec}: not in every image, so it must be pinned exactly"
        version = spec[2:]
        assert lock[name]["version"] == version, (
            f"{name}: requirements.txt pins {version}, uv.lock has {lock[name]['version']}"
        )
        wheels = [w["url"].rsplit("/", 1)[-1] for w in lock[name].get("wheels", [])]
        for python in pythons:
            fits = [
                w
                for w in wheels
                if re.search(rf"-(cp{python}-cp{python}|cp3\d+-abi3|py3-none)-(manylinux[^-]*x86_64|any)", w)
            ]
            assert fits, f"{name}=={version} has no wheel for CPython {python} on manylinux x86_64: {wheels}"


# What pip replaces in an image to install requirements.txt's dependencies, known and not yet resolved
# (docs/embedded-aws.md, container runtime row): onnx 1.23 needs protobuf>=6.31.1 and onnxruntime 1.32
# protobuf>=4.25.8, while the XGBoost image pins protobuf 3.20.2 for its own generated protobuf code.
KNOWN_REPLACED = {("xgboost", "protobuf")}


def _plan():
    from importlib.metadata import requires, version

    return wheelhouse.plan(
        _requirements(),
        {name: runtime.packages for name, runtime in RUNTIMES.items()},
        python=_python(),
        requires=requires,
        version=version,
    )


def _python() -> str:
    (python,) = {runtime.python for runtime in RUNTIMES.values()}  # one wheelhouse serves every image
    return python


def test_the_requirements_dependencies_replace_nothing_the_images_pin_but_the_known():
    """Walk the dependencies of requirements.txt (their metadata, at the locked versions): each one an image
    pins must admit the image's version, or pip replaces the image's own package."""
    replaced = set(_plan().replaced)
    assert replaced <= KNOWN_REPLACED, f"pip would replace {sorted(replaced - KNOWN_REPLACED)}"
    assert replaced == KNOWN_REPLACED, f"a known conflict is gone: drop {sorted(KNOWN_REPLACED - replaced)}"


def test_the_wheelhouse_holds_exactly_the_planned_wheels_hashed_for_the_images_python():
    """build/training/wheelhouse (the install step's): one wheel per planned distribution at its uv.lock
    version, each installable on CPython of the images on manylinux x86_64, each line's hash its file's."""
    from packaging.tags import compatible_tags, cpython_tags
    from packaging.utils import canonicalize_name, parse_wheel_filename

    folder = wheelhouse.location(ROOT)
    assert (folder / "requirements.txt").is_file(), f"{folder}: not built (./dev setup)"
    lock: dict[str, set[str]] = {}
    for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]:
        lock.setdefault(package["name"], set()).add(package.get("version", ""))
    text = (folder / "requirements.txt").read_text()
    assert "--no-index" in text.splitlines() and f"--find-links {wheelhouse.WHEELS}" in text.splitlines()
    lines = dict(re.findall(r"^([a-z0-9-]+==\S+) --hash=sha256:([0-9a-f]{64})$", text, re.M))
    major, minor = (int(x) for x in _python().split("."))
    platforms = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    supported = {
        *cpython_tags((major, minor), platforms=platforms),
        *compatible_tags((major, minor), platforms=platforms),
    }
    shipped = set()
    for wheel in wheelhouse.wheel_files(folder):
        name, version, _, tags = parse_wheel_filename(wheel.name)
        name = canonicalize_name(name)
        shipped.add(name)
        assert lines.get(f"{name}=={version}") == hashlib.sha256(wheel.read_bytes()).hexdigest(), wheel.name
        assert str(version) in lock[name], f"{wheel.name}: uv.lock has {lock[name]}"
        assert set(tags) & supported, f"{wheel.name}: not installable on CPython {_python()} manylinux x86_64"
    assert shipped == set(_plan().ship) and len(lines) == len(shipped)


# What a protoc older than 3.19 generates (the XGBoost image's sagemaker_containers/record_pb2.py is such
# code): descriptors created directly. Written here from descriptor_pb2, not copied.
_LEGACY_PB2 = """
from google.protobuf import descriptor as _descriptor, descriptor_pb2
proto = descriptor_pb2.FileDescriptorProto(name="legacy.proto", package="legacy", syntax="proto2")
proto.message_type.add(name="Tensor").field.add(name="values", number=1, label=3, type=2)
DESCRIPTOR = _descriptor.FileDescriptor(
    name="legacy.proto", package="legacy", syntax="proto2", serialized_pb=proto.SerializeToString()
)
_descriptor.Descriptor(
    name="Tensor", full_name="legacy.Tensor", filename=None, file=DESCRIPTOR, containing_type=None,
    fields=[_descriptor.FieldDescriptor(
        name="values", full_name="legacy.Tensor.values", index=0, number=1, type=2, cpp_type=6, label=3,
        has_default_value=False, default_value=[], message_type=None, enum_type=None, containing_type=None,
        is_extension=False, extension_scope=None, options=None)],
    extensions=[], nested_types=[], enum_types=[], options=None, is_extendable=False, syntax="proto2",
    extension_ranges=[], oneofs=[], serialized_start=0, serialized_end=0,
)
print("loaded")
"""


def test_an_image_whose_protobuf_is_replaced_serves_with_the_implementation_that_loads_its_own_code():
    """Under the protobuf the wheelhouse ships (the locked one), legacy generated code fails to import with
    the default implementation and loads with the pure-Python one, which that image's serving sets."""
    from importlib.metadata import version

    replaced = {framework for framework, name in KNOWN_REPLACED if name == "protobuf"}
    assert replaced, "no image has its protobuf replaced: drop the workaround"
    shipped = dict(
        re.findall(r"^(protobuf)==(\S+) ", (wheelhouse.location(ROOT) / "requirements.txt").read_text(), re.M)
    )
    assert shipped["protobuf"] == version("protobuf"), "the test must run the protobuf the containers get"
    env = {k: v for k, v in os.environ.items() if k != "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"}
    default = subprocess.run([sys.executable, "-c", _LEGACY_PB2], capture_output=True, text=True, env=env, check=False)
    assert default.returncode != 0 and "Descriptors cannot be created directly" in default.stderr
    for framework in replaced:
        serving = RUNTIMES[framework].serving_environment
        assert serving.get("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION") == "python", framework
        python = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", _LEGACY_PB2], capture_output=True, text=True, env={**env, **serving}
        )
        assert python.returncode == 0 and "loaded" in python.stdout, python.stderr
    for framework in set(RUNTIMES) - replaced:
        assert not RUNTIMES[framework].serving_environment, f"{framework} keeps its protobuf: it needs no workaround"
