"""Control routes that force trouble: gateway actions, token resets, session-start budgets.

Owns ``POST /_sim/shards/{shard_id}`` (op 7, op 9, a close code or a dropped connection
on a shard's sessions; what each does is :mod:`shoal_sim.discord.gateway.forcing`'),
``POST /_sim/applications/{application_id}/reset-token`` and
``POST /_sim/applications/{application_id}/session-starts``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from shoal_sim.discord.control import inputs

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.server import Simulator

__all__ = ["TroubleHandlers"]

_FORCE_ACTIONS: Final = frozenset(
    {"reconnect", "invalidate", "invalidate-resumable", "close", "drop"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class TroubleHandlers:
    """Trouble-forcing handlers bound to one simulator."""

    sim: Simulator

    async def force_shard(self, request: web.Request) -> web.Response:
        """Apply a gateway action to every session of one shard."""
        body = await inputs.read_body(request)
        action = body.get("action")
        if action not in _FORCE_ACTIONS:
            return inputs.error_response(f"action must be one of {sorted(_FORCE_ACTIONS)}")
        code = inputs.optional_int_field(body, "code")
        if action == "close" and (code is None or not 1000 <= code <= 4999):  # noqa: PLR2004
            return inputs.error_response("close needs a code between 1000 and 4999")
        app = inputs.application_of(self.sim, body)
        shard_id = inputs.int_field(dict(request.match_info), "shard_id")
        sessions = self.sim.gateway.sessions.of_shard(
            app.id, shard_id, inputs.optional_int_field(body, "shard_count")
        )
        touched = self.sim.gateway.force(sessions, action, code=code)
        return inputs.json_response({"sessions": touched})

    async def reset_token(self, request: web.Request) -> web.Response:
        """Give the application a new token (the old one stops working)."""
        app = inputs.application_at(self.sim, request)
        return inputs.json_response({"token": self.sim.world.reset_token(app)})

    async def session_starts(self, request: web.Request) -> web.Response:
        """Set how many session starts the application has left."""
        body = await inputs.read_body(request)
        app = inputs.application_at(self.sim, request)
        remaining = inputs.int_field(body, "remaining")
        if not 0 <= remaining <= app.session_start_total:
            return inputs.error_response(
                f"remaining must be between 0 and {app.session_start_total}"
            )
        app.session_start_remaining = remaining
        return inputs.json_response({"remaining": remaining})
