"""The one way the embedded AWS changes moto or botocore: a ``Patch`` names what it replaces, what moto (or
botocore) lacks there and what AWS does instead; ``apply`` installs it once, ``undo`` puts the original back.

Every patch of ``sagelane.local`` is declared with ``patch(...)`` at import of its module, so ``TABLE`` is
the complete list (``sagelane local patches`` prints it; docs/embedded-aws.md carries it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()
_LOCK = threading.Lock()


@dataclass
class Patch:
    owner: Any  # the class or module whose attribute is replaced
    name: str
    replacement: Any
    lacks: str  # what moto / botocore does not do there
    aws: str  # what AWS does, which the replacement emulates
    original: Any = field(default=_MISSING, repr=False)
    _own: bool = field(default=False, repr=False)

    @property
    def target(self) -> str:
        owner = str(getattr(self.owner, "__qualname__", None) or getattr(self.owner, "__name__", repr(self.owner)))
        module = getattr(self.owner, "__module__", None)
        prefix = f"{module}." if module and not owner.startswith(module) else ""
        return f"{prefix}{owner}.{self.name}"

    @property
    def applied(self) -> bool:
        return self.original is not _MISSING

    def apply(self) -> None:
        with _LOCK:
            if self.applied:
                return
            # the owner's own attribute (an inherited one is restored by deleting the override)
            self.original = vars(self.owner).get(self.name, None)
            self._own = self.name in vars(self.owner)
            setattr(self.owner, self.name, self.replacement)

    def undo(self) -> None:
        with _LOCK:
            if not self.applied:
                return
            if self._own:
                setattr(self.owner, self.name, self.original)
            else:
                delattr(self.owner, self.name)
            self.original = _MISSING


TABLE: list[Patch] = []


def patch(owner: Any, name: str, replacement: Any, *, lacks: str, aws: str) -> Patch:
    """Declare a patch (not yet applied)."""
    entry = Patch(owner, name, replacement, lacks=lacks, aws=aws)
    TABLE.append(entry)
    return entry


def rows() -> list[tuple[str, str, str]]:
    return [(p.target, p.lacks, p.aws) for p in TABLE]
