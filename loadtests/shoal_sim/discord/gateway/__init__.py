"""The simulated gateway: connections, sessions, identify limits and dispatch routing."""

from __future__ import annotations

__all__: list[str] = []
