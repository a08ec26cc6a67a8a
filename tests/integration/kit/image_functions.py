"""Image functions the pool tests run in worker processes (top-level, so they pickle).

Each appends its worker's pid to a file the test reads: the count of lines is the count of
renders, and the pids say which workers ran them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["crash", "fail", "log_pid", "not_bytes", "pid_after", "png_after"]


def log_pid(log: str) -> None:
    """Append this worker's pid to ``log`` (one line per call)."""
    with Path(log).open("a", encoding="utf-8") as file:
        file.write(f"{os.getpid()}\n")


def png_after(log: str, delay_s: float, label: str) -> bytes:
    """Log the call, sleep ``delay_s`` (a slow render, or a stuck one), return bytes."""
    log_pid(log)
    time.sleep(delay_s)
    return f"PNG {label}".encode()


def crash(log: str) -> bytes:
    """Kill the worker process mid-render, as a segfault in a C extension would."""
    log_pid(log)
    os._exit(1)


def fail(label: str) -> bytes:
    """Raise, as a renderer with a bug would."""
    raise ValueError(f"no image for {label}")


def not_bytes() -> bytes:
    """Return something that is not an image (a renderer with a bug)."""
    return "a str, not bytes"  # type: ignore[return-value]


def pid_after(delay_s: float) -> bytes:
    """Return this worker's pid, after ``delay_s`` (so that overlapping calls use both)."""
    time.sleep(delay_s)
    return str(os.getpid()).encode()
