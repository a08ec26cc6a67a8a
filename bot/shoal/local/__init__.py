"""Shoal on one machine: throwaway servers, the Discord simulator and a fleet of workers.

Owns ``shoal local up`` (:mod:`shoal.local.running`) and the throwaway Redis and PostgreSQL
servers that it and the test suite start from local binaries (:mod:`shoal.local.servers`).
Does not own the worker (``shoal worker``), the simulator (``shoal_sim``, started only as
another process) or how many shards a bot needs (:mod:`shoal.planning`, shared with the
operator).
"""

from __future__ import annotations

__all__: list[str] = []
