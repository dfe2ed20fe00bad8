"""Foreground commands (``local up``, ``local serve``): run until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading


def wait_until_stopped() -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM (what ``sagelane local down`` and service managers send)."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
