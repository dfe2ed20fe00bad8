"""The training and inference code against the containers it runs in (finding 7): the Python and libraries
of each framework image the templates name (``stacks.constructs.images.RUNTIMES``), checked offline."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from stacks.constructs.images import FRAMEWORKS, RUNTIMES

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
