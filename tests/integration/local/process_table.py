"""Reading the process table (/proc) to check that nothing outlives a test."""

from __future__ import annotations

import contextlib
from pathlib import Path

__all__ = ["descendants", "is_alive"]


def _stat_fields(pid: int | str) -> list[str]:
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the
    # last ")". The list starts at the state.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> set[int]:
    """Return every process below ``pid`` (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError):  # it ended while being read
            parents[int(entry.name)] = int(_stat_fields(entry.name)[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def is_alive(pid: int) -> bool:
    """Return whether ``pid`` runs; a zombie has exited (only its status is left to collect)."""
    try:
        return _stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return False
