"""What the training and inference code installs in the framework containers, decided offline.

The containers run ``pip install -r requirements.txt`` from the code tarball at every start (job and
endpoint). The kit ships that file *hashed and offline*: ``--no-index --find-links wheels`` and one
``name==version --hash=sha256:…`` line for each distribution the images lack, with those exact wheels
(CPython of the images, manylinux x86_64) under ``wheels/`` in the tarball. pip then verifies every wheel
and reaches no index, so a container starts without PyPI and installs exactly what the tests ran.

Which distributions: the requirements of ``training/requirements.txt`` and, transitively, their
dependencies (their metadata, at the locked versions), less each one that every image already has at a
version all those requirements admit (the image's own then stays, with its own dependencies).
``scripts/build_training_wheels.py`` builds the wheelhouse at install time; synth only packs it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

WHEELS = "wheels"  # the folder of the tarball that holds them (requirements.txt's --find-links)
REQUIREMENTS = "requirements.txt"


def linux_environment(python: str) -> dict[str, str]:
    """PEP 508 marker values of CPython ``python`` ("3.12") on Linux x86_64, as in the images."""
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "extra": "",
    }


@dataclass(frozen=True)
class Plan:
    ship: frozenset[str]  # canonical distribution names the wheelhouse holds
    replaced: frozenset[tuple[str, str]]  # (image, distribution): pip replaces the image's own version


def read_requirements(text: str) -> dict[str, str]:
    """``name → specifier`` of a requirements file (comments and options skipped)."""
    from packaging.utils import canonicalize_name

    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            found = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", line)
            if found:
                out[canonicalize_name(found.group(1))] = found.group(2).strip()
    return out


def plan(
    requirements: Mapping[str, str],
    images: Mapping[str, Mapping[str, str]],
    *,
    python: str,
    requires: Callable[[str], Iterable[str] | None],
    version: Callable[[str], str],
) -> Plan:
    """The distributions to ship for ``requirements`` (name → specifier) on ``images`` (image → name →
    its pinned specifier, ``==1.2.3``), walking dependencies with ``requires(name)`` (Requires-Dist lines)
    and ``version(name)`` (the version that would ship)."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name

    environment = linux_environment(python)
    pins = {image: {canonicalize_name(k): v for k, v in p.items()} for image, p in images.items()}
    wanted: dict[str, list[SpecifierSet]] = defaultdict(list)
    for name, spec in requirements.items():
        wanted[canonicalize_name(name)].append(SpecifierSet(spec))

    def provided(name: str) -> bool:
        """Every image has ``name`` at a version each requirement on it admits."""
        for image_pins in pins.values():
            pin = image_pins.get(name, "")
            if not pin.startswith("=="):
                return False
            if not all(spec.contains(pin[2:], prereleases=True) for spec in wanted[name]):
                return False
        return True

    ship: set[str] = set()
    while True:  # to a fixed point: a later requirement may rule out an image's version
        before = set(ship)
        todo, seen = list(wanted), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if provided(name):
                continue
            ship.add(name)
            for line in requires(name) or []:
                requirement = Requirement(line)
                if requirement.marker is not None and not requirement.marker.evaluate(environment):
                    continue
                dependency = canonicalize_name(requirement.name)
                if requirement.specifier not in wanted[dependency]:
                    wanted[dependency].append(requirement.specifier)
                todo.append(dependency)
        if ship == before:
            break
    replaced = {
        (image, name)
        for image, image_pins in pins.items()
        for name in ship
        if name in image_pins and image_pins[name] != f"=={version(name)}"
    }
    return Plan(frozenset(ship), frozenset(replaced))


def hashed_requirements(wheels: Mapping[str, tuple[str, str]]) -> str:
    """The container's requirements.txt: offline, from ``wheels/``, each wheel by its sha256
    (``wheels``: name → (version, sha256 of the wheel file))."""
    lines = [
        "# Generated by scripts/build_training_wheels.py: the exact wheels under wheels/, verified by pip,",
        "# installed without an index. The framework image's own packages are not listed (they stay).",
        "--no-index",
        f"--find-links {WHEELS}",
    ]
    for name in sorted(wheels):
        version, digest = wheels[name]
        lines.append(f"{name}=={version} --hash=sha256:{digest}")
    return "\n".join(lines) + "\n"


def location(root: Path) -> Path:
    """Where the install step builds the wheelhouse of the project at ``root``."""
    return root / "build" / "training" / "wheelhouse"


def wheel_files(folder: Path) -> list[Path]:
    return sorted((folder / WHEELS).glob("*.whl"))
