"""Benchmarks of the simulators: each prints figures (never asserts timings)."""

from __future__ import annotations

__all__: list[str] = []
