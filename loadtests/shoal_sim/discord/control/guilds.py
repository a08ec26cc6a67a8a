"""Control routes for guilds: list them, grow the world, remove one, read one back.

Owns ``GET``/``POST /_sim/guilds`` (``verification_gate`` adds the membership screening
feature to the new guilds) and ``GET``/``DELETE /_sim/guilds/{guild_id}``. The guilds
themselves are the world's; the gateway events they cause are
:mod:`shoal_sim.discord.events`'; a guild's features change through :mod:`.roles`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import events, payloads
from shoal_sim.discord.control import inputs
from shoal_sim.discord.control.roles import set_verification_gate

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.server import Simulator

__all__ = ["GuildHandlers"]

#: Upper bound of ``members`` for a guild added through the API: keeps generated member ids
#: inside the guild's own id space and one materialisation bounded.
_MAX_ADDED_MEMBERS: Final = 1_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class GuildHandlers:
    """Guild handlers bound to one simulator."""

    sim: Simulator

    async def list_guilds(self, request: web.Request) -> web.Response:
        """Answer the application's guild ids, or one shard's with ``shard_count``."""
        app = inputs.application_of(self.sim, dict(request.query))
        query = request.query
        if "shard_count" in query:
            count = inputs.int_field(dict(query), "shard_count")
            shard_id = inputs.int_field(dict(query), "shard_id", 0)
            if count < 1 or not 0 <= shard_id < count:
                return inputs.error_response(
                    "shard_count must be at least 1 and 0 <= shard_id < shard_count"
                )
            guild_ids = sorted(self.sim.world.guild_ids_on_shard(app, shard_id, count))
        else:
            guild_ids = sorted(app.guild_ids)
        return inputs.json_response({"count": len(guild_ids), "ids": [str(g) for g in guild_ids]})

    async def add_guilds(self, request: web.Request) -> web.Response:
        """Add guilds to an application and tell its sessions (GUILD_CREATE)."""
        body = await inputs.read_body(request)
        app = inputs.application_of(self.sim, body)
        count = inputs.int_field(body, "count", 1)
        if not 1 <= count <= 100_000:  # noqa: PLR2004 - keep one request bounded
            return inputs.error_response("count must be between 1 and 100000")
        members = inputs.optional_int_field(body, "members")
        if members is not None and not 0 <= members <= _MAX_ADDED_MEMBERS:
            return inputs.error_response(f"members must be between 0 and {_MAX_ADDED_MEMBERS}")
        if not isinstance(body.get("name", ""), str):
            return inputs.error_response("name must be a string")
        is_gated = inputs.bool_field(body, "verification_gate", default=False)
        created = []
        reached = 0
        for _ in range(count):
            guild = self.sim.world.add_guild(app, name=body.get("name"), members=members)
            set_verification_gate(guild, is_enabled=is_gated)
            reached += events.emit_guild_joined(self.sim, guild)
            created.append(str(guild.id))
        return inputs.json_response({"ids": created, "sessions_notified": reached}, 201)

    async def remove_guild(self, request: web.Request) -> web.Response:
        """Remove a guild and tell its sessions (GUILD_DELETE)."""
        guild = inputs.guild_of(self.sim, inputs.int_field(dict(request.match_info), "guild_id"))
        reached = events.emit_guild_left(self.sim, guild)
        self.sim.world.remove_guild(guild.id)
        return inputs.json_response({"id": str(guild.id), "sessions_notified": reached})

    async def guild_state(self, request: web.Request) -> web.Response:
        """Answer what the guild holds now: roles, channels, members, bans, voice, commands."""
        guild = inputs.guild_of(self.sim, inputs.int_field(dict(request.match_info), "guild_id"))
        world = self.sim.world
        roles, channels, members = world.contents(guild)
        return inputs.json_response(
            {
                "id": str(guild.id),
                "name": guild.name,
                "member_count": guild.member_count,
                "features": sorted(guild.features),
                "roles": [payloads.role_json(r) for r in roles.values()],
                "channels": [payloads.channel_json(c) for c in channels.values()],
                "members": {
                    str(m.user_id): {
                        "nick": m.nick,
                        "roles": [str(r) for r in m.role_ids],
                        "communication_disabled_until": m.communication_disabled_until_ms,
                        "pending": m.is_pending,
                        "flags": m.flags,
                    }
                    for m in members.values()
                },
                "bans": {str(b.user_id): {"reason": b.reason} for b in guild.bans.values()},
                "voice_states": {
                    str(v.user_id): str(v.channel_id) for v in guild.voice_states.values()
                },
                "commands": list(guild.commands.values()),
            }
        )
