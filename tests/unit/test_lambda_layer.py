"""Every third-party module a Lambda handler can import is in what the deployed function has.

Locally the handlers run in the project's virtual environment, which has everything; in AWS they have
the dependency layer (``build/lambda/deps.zip``, the ``lambda`` dependency group), the Powertools layer
and the runtime's boto3. An import that only the virtual environment satisfies passes every other
test and fails in AWS with ImportError, so the imports are followed statically here: from each handler
through every ``sagelane`` module it reaches (imports inside functions included).
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "build" / "lambda" / "deps.zip"
# What the Lambda Python runtime and the Powertools layer bring.
RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "aws_lambda_powertools"}


def _imports(path: Path) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (``from x import y`` gives x and x.y)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _source(module: str) -> Path | None:
    base = ROOT / module.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _third_party(handler: Path) -> dict[str, str]:
    """Top-level third-party module → the first project file that imports it."""
    found: dict[str, str] = {}
    todo, seen = [handler], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "sagelane":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # the package __init__ files run too
                    if (source := _source(".".join(parts[:i]))) is not None:
                        todo.append(source)
            elif top not in sys.stdlib_module_names and not (handler.parent / f"{top}.py").is_file():
                found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _layer_modules() -> set[str]:
    if not LAYER.is_file():
        pytest.fail(f"{LAYER} is missing: ./dev setup builds it")
    with zipfile.ZipFile(LAYER) as archive:
        tops = {name.split("/")[1] for name in archive.namelist() if name.startswith("python/") and "/" in name[7:]}
        tops |= {name[7:-3] for name in archive.namelist() if name.count("/") == 1 and name.endswith(".py")}
    return tops


HANDLERS = sorted((ROOT / "lambdas").glob("*/handler.py"))


@pytest.mark.parametrize("handler", HANDLERS, ids=[h.parent.name for h in HANDLERS])
def test_every_import_of_a_handler_is_in_the_deployed_function(handler: Path) -> None:
    available = _layer_modules() | RUNTIME
    missing = {module: where for module, where in _third_party(handler).items() if module not in available}
    assert not missing, (
        f"{handler.parent.name} imports modules the deployed function lacks (add them to the lambda "
        f"dependency group, or keep them out of the handler's imports): {missing}"
    )


def test_the_walk_finds_the_layer_dependencies() -> None:
    # the check is only as good as the walk: the validation handler reaches polars and pydantic
    found = _third_party(ROOT / "lambdas" / "ingest_validate" / "handler.py")
    assert {"polars", "pydantic", "aws_lambda_powertools"} <= set(found)
