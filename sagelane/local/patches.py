"""The one way the embedded AWS changes moto or botocore: a ``Patch`` names what it replaces, what moto (or
botocore) lacks there and what AWS does instead; ``apply`` installs it once, ``undo`` puts the original back.

Three kinds, one interface: ``patch`` replaces an attribute of a class or module, ``patch_item`` sets a key
of a mapping (a name table of moto's), ``patch_entry`` adds an element to a list (botocore's built-in
event handlers, which every new session copies).

Every patch of ``sagelane.local`` is declared at import of its module (a patch declared again for the same
target, e.g. per embedded AWS, replaces its row), so ``TABLE`` is the complete list: ``sagelane local
patches`` prints it, and the Patches section of docs/embedded-aws.md carries it (a test keeps them equal).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()
_LOCK = threading.Lock()


@dataclass
class Patch:
    owner: Any  # the class or module whose attribute is replaced; the mapping or list of an item / entry
    name: str  # the attribute or key; for an entry, what it is (shown in the table)
    replacement: Any
    lacks: str  # what moto / botocore does not do there
    aws: str  # what AWS does, which the replacement emulates
    kind: str = "attribute"  # "attribute" | "item" | "entry"
    where: str = ""  # an item's or entry's container, named for the table ("botocore.handlers.BUILTIN_HANDLERS")
    original: Any = field(default=_MISSING, repr=False)
    _own: bool = field(default=False, repr=False)

    @property
    def target(self) -> str:
        if self.kind != "attribute":
            return f"{self.where}[{self.name}]"
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
            if self.kind == "item":
                self._own = self.name in self.owner
                self.original = self.owner.get(self.name)
                self.owner[self.name] = self.replacement
            elif self.kind == "entry":
                self._own = self.replacement in self.owner  # already there: leave it as found
                self.original = None
                if not self._own:
                    self.owner.append(self.replacement)
            else:
                # the owner's own attribute (an inherited one is restored by deleting the override)
                self.original = vars(self.owner).get(self.name, None)
                self._own = self.name in vars(self.owner)
                setattr(self.owner, self.name, self.replacement)

    def undo(self) -> None:
        with _LOCK:
            if not self.applied:
                return
            if self.kind == "item":
                if self._own:
                    self.owner[self.name] = self.original
                else:
                    self.owner.pop(self.name, None)
            elif self.kind == "entry":
                if not self._own and self.replacement in self.owner:
                    self.owner.remove(self.replacement)
            elif self._own:
                setattr(self.owner, self.name, self.original)
            else:
                delattr(self.owner, self.name)
            self.original = _MISSING


_TABLE: dict[str, Patch] = {}  # by target, in declaration order


def _declare(entry: Patch) -> Patch:
    with _LOCK:
        _TABLE[entry.target] = entry
    return entry


def patch(owner: Any, name: str, replacement: Any, *, lacks: str, aws: str) -> Patch:
    """Declare the replacement of ``owner.name`` (not yet applied)."""
    return _declare(Patch(owner, name, replacement, lacks=lacks, aws=aws))


def patch_item(mapping: Any, key: str, value: Any, *, where: str, lacks: str, aws: str) -> Patch:
    """Declare ``mapping[key] = value`` (``where`` names the mapping)."""
    return _declare(Patch(mapping, key, value, lacks=lacks, aws=aws, kind="item", where=where))


def patch_entry(sequence: list, value: Any, *, name: str, where: str, lacks: str, aws: str) -> Patch:
    """Declare ``value`` appended to ``sequence`` (``name``: what it is; ``where``: the list)."""
    return _declare(Patch(sequence, name, value, lacks=lacks, aws=aws, kind="entry", where=where))


def apply(patches: list[Patch]) -> None:
    for entry in patches:
        entry.apply()


def undo(patches: list[Patch]) -> None:
    for entry in reversed(patches):
        entry.undo()


def table() -> list[Patch]:
    """Every patch declared so far (import ``sagelane.local.cloud`` first: it imports every patching module)."""
    with _LOCK:
        return list(_TABLE.values())


def rows() -> list[tuple[str, str, str]]:
    return [(p.target, p.lacks, p.aws) for p in table()]


def markdown() -> str:
    """The table as docs/embedded-aws.md carries it: one row for each reason, with every target it covers."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for target, lacks, aws in rows():
        grouped.setdefault((lacks, aws), []).append(target.replace(_SFN, "moto.stepfunctions….", 1))
    lines = ["| patched | what moto / botocore lacks there | what AWS does (emulated) |", "|---|---|---|"]
    for (lacks, aws), targets in sorted(grouped.items(), key=lambda item: item[1][0]):  # import order varies
        lines.append(f"| {', '.join(f'`{t}`' for t in targets)} | {lacks} | {aws} |")
    return "\n".join(lines)


_SFN = "moto.stepfunctions.parser.asl.component."
