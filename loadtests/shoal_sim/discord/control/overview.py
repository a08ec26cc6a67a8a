"""Control routes that report: the simulator's addresses, statistics and sessions.

Owns ``GET /_sim/info``, ``GET /_sim/stats``, ``POST /_sim/stats/reset`` and
``GET /_sim/sessions``. Changes nothing but the statistics' reset.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from shoal_sim.discord.control import inputs

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.server import Simulator

__all__ = ["OverviewHandlers"]


@dataclasses.dataclass(frozen=True, slots=True)
class OverviewHandlers:
    """Reporting handlers bound to one simulator."""

    sim: Simulator

    async def info(self, _: web.Request) -> web.Response:
        """Answer the URLs, applications (with tokens) and settings (without them)."""
        sim = self.sim
        settings = dataclasses.asdict(sim.settings)
        settings.pop("tokens", None)
        return inputs.json_response(
            {
                "rest_url": sim.rest_url,
                "cdn_url": sim.cdn_url,
                "gateway_url": sim.gateway.ws_url,
                "applications": [
                    {
                        "id": str(app.id),
                        "token": app.token,
                        "guilds": len(app.guild_ids),
                        "session_start_remaining": app.session_start_remaining,
                        "max_concurrency": app.max_concurrency,
                    }
                    for app in sim.world.applications.values()
                ],
                "settings": settings,
            }
        )

    async def stats(self, _: web.Request) -> web.Response:
        """Answer the statistics, with the sessions per shard.

        Deadlines that passed are settled first (a timer may not have run yet), so the
        interaction counts add up to what was injected at the moment of the read.
        """
        sim = self.sim
        sim.stats.expire_due(now=time.monotonic(), deadline_s=sim.settings.interaction_deadline_s)
        return inputs.json_response(
            sim.stats.as_json(sessions_by_shard=sim.gateway.sessions.counts_by_shard())
        )

    async def reset_stats(self, _: web.Request) -> web.Response:
        """Zero the statistics: interactions injected before count nowhere after."""
        self.sim.stats.reset()
        return inputs.json_response({"ok": True})

    async def sessions(self, _: web.Request) -> web.Response:
        """Answer every gateway session, connected or waiting for a resume."""
        return inputs.json_response(
            [
                {
                    "id": s.id,
                    "application_id": str(s.app_id),
                    "shard": [s.shard_id, s.shard_count],
                    "intents": s.intents,
                    "seq": s.seq,
                    "is_connected": s.connection is not None,
                }
                for s in self.sim.gateway.sessions.by_id.values()
            ]
        )
