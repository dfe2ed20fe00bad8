"""Environment variables of one thread: code run in-process as if it were alone in its own container.

The embedded AWS runs Lambda handlers (and the local endpoints run inference code) inside a process where
other threads are busy at the same time: Step Functions interpreters, the moto server, the event pump.
Each of those reads the process environment — botocore looks for proxy settings on every client it builds,
with ``urllib.request.getproxies()``, which walks ``os.environ``. Setting a function's variables in the
process environment for a call and deleting them afterwards races with those readers: a reader that listed
a name just before it was deleted fails with ``KeyError`` on it, in whatever run it was serving.

Instead, ``thread_environment(values)`` lays ``values`` over the environment for the calling thread only:
``os.environ`` / ``os.getenv`` in that thread see them (and anything the code sets or deletes stays in the
layer); every other thread sees the process environment, which nothing here changes. Processes started
from inside the layer inherit the process environment, not the layer: pass ``env=`` to them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_DELETED = None  # a layer's value for a variable the code deleted


class _Layer(threading.local):
    values: dict[str, str | None] | None = None  # a class default: no AttributeError to catch on each read


class _LayeredEnviron(os._Environ[str]):
    """``os.environ`` with a per-thread layer over it (the process environment is shared, as before)."""

    def __init__(self, base: os._Environ[str]) -> None:
        super().__init__(base._data, base.encodekey, base.decodekey, base.encodevalue, base.decodevalue)  # type: ignore[attr-defined]
        self._local = _Layer()

    def layer(self) -> dict[str, str | None] | None:
        return self._local.values

    def set_layer(self, layer: dict[str, str | None] | None) -> None:
        self._local.values = layer

    def __getitem__(self, key: str) -> str:
        layer = self.layer()
        if layer is not None and key in layer:
            value = layer[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: str) -> None:
        layer = self.layer()
        if layer is None:
            super().__setitem__(key, value)
        else:
            self.encodekey(key), self.encodevalue(value)  # the checks the process environment makes
            layer[key] = value

    def __delitem__(self, key: str) -> None:
        layer = self.layer()
        if layer is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        layer[key] = _DELETED

    def __iter__(self) -> Iterator[str]:
        layer = self.layer()
        names = list(super().__iter__())  # a snapshot: the base class lists the process's names at once
        if layer is None:
            yield from names
            return
        yield from (name for name in names if name not in layer)
        yield from (name for name, value in list(layer.items()) if value is not _DELETED)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"


def install() -> None:
    """Put the layered ``os.environ`` in place (once per process; without a layer it is the same mapping)."""
    if not isinstance(os.environ, _LayeredEnviron):
        os.environ = _LayeredEnviron(os.environ)  # noqa: B003 (replaced on purpose: same data, a layer per thread)


@contextmanager
def thread_environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` over the environment for the calling thread only, while the block runs (nests)."""
    install()
    environ = os.environ
    assert isinstance(environ, _LayeredEnviron)
    outer = environ.layer()
    environ.set_layer({**(outer or {}), **values})
    try:
        yield
    finally:
        environ.set_layer(outer)
