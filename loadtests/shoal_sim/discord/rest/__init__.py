"""Discord's REST API under ``/api/v10``, as the simulator serves it.

:mod:`.routing` mounts every endpoint and guards it (bot token, global and per-route
rate limits, Discord's error shapes, statistics). Route modules hold the handlers, one
resource each; ``*_rules`` modules and :mod:`.ratelimiting` hold the pure decisions
they act on. Nothing here is imported by the gateway.
"""

from __future__ import annotations

__all__: list[str] = []
