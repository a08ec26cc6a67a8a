"""A protocol-level simulator of Discord: REST under ``/api/v10`` and the gateway.

The simulator enforces Discord's rules (identify buckets, session start limits, close
codes, rate limits, interaction deadlines) so that real hikari runs against it in tests,
load tests and the local fleet. It never imports the worker (``shoal``), so the two
cannot share a bug. Test and load-test hooks live apart under ``/_sim``
(:mod:`shoal_sim.discord.control`).
"""

from __future__ import annotations

__all__: list[str] = []
