"""Reading the process table (/proc) to check that nothing outlives a test."""

from __future__ import annotations

import contextlib
from pathlib import Path

__all__ = ["command_of", "descendants", "environment_of", "is_alive", "pods_below"]


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


def environment_of(pid: int) -> dict[str, str]:
    """Return the environment ``pid`` started with (empty when it ended or is not ours)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs}


def command_of(pid: int) -> list[str]:
    """Return the command line of ``pid`` (empty when it ended)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def pods_below(pid: int) -> dict[str, int]:
    """Return the worker processes below ``pid`` by pod name (``SHOAL_POD_NAME``).

    A worker's own children (its image-render processes) inherit its environment: the
    worker is the one whose parent is not a process of the same pod.
    """
    named: dict[int, str] = {}
    for child in descendants(pid):
        name = environment_of(child).get("SHOAL_POD_NAME")
        if name is not None and is_alive(child):
            named[child] = name
    found: dict[str, int] = {}
    for child, name in named.items():
        try:
            parent = int(_stat_fields(child)[1])
        except (OSError, IndexError, ValueError):  # it exited meanwhile
            continue
        if named.get(parent) != name:
            found.setdefault(name, child)
    return found
