"""The control API under ``/_sim``: drive the simulated Discord from tests and load tests.

Nothing here exists on the real Discord. It injects events (guild growth, messages,
interactions), forces gateway trouble (op 7, op 9, close codes, dropped connections),
reads back what the bot did, reports statistics and runs the load generator. Bad input
gets HTTP 400 with ``{"error": "..."}``; unknown things get 404.

:mod:`.routing` mounts every route; :mod:`.inputs` parses bodies and finds what they
name; the other modules hold one group of handlers each.
"""

from __future__ import annotations

from shoal_sim.discord.control.routing import add_routes

__all__ = ["add_routes"]
