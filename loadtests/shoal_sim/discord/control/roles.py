"""Control routes for roles and guild features: set up a guild the way a test needs it.

Owns ``POST /_sim/guilds/{guild_id}/roles`` (a role, managed or not, at any position:
GUILD_ROLE_CREATE), ``PATCH /_sim/guilds/{guild_id}/roles/{role_id}`` (name,
permissions, position: GUILD_ROLE_UPDATE), ``DELETE /_sim/guilds/{guild_id}/roles/{role_id}``
(taken from every member: GUILD_ROLE_DELETE) and ``PATCH /_sim/guilds/{guild_id}``
(the verification gate, i.e. membership screening: GUILD_UPDATE). None of these is
held to the role hierarchy: they stand for what the guild's owner does.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import events, membership, payloads
from shoal_sim.discord.control import inputs
from shoal_sim.discord.entities import Role

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator

__all__ = ["RoleHandlers", "set_verification_gate"]

_MAX_PERMISSIONS: Final = (1 << 53) - 1
_MAX_ROLE_NAME_CHARS: Final = 100


def set_verification_gate(guild: Guild, *, is_enabled: bool) -> bool:
    """Turn membership screening on or off for ``guild``; return whether it changed."""
    features = set(guild.features)
    if is_enabled:
        features.add(membership.VERIFICATION_GATE)
    else:
        features.discard(membership.VERIFICATION_GATE)
    changed = features != guild.features
    guild.features = frozenset(features)
    return changed


@dataclasses.dataclass(frozen=True, slots=True)
class RoleHandlers:
    """Role and guild feature handlers bound to one simulator."""

    sim: Simulator

    def _guild(self, request: web.Request) -> Guild:
        return inputs.guild_of(self.sim, inputs.int_field(dict(request.match_info), "guild_id"))

    def _role(self, request: web.Request, guild: Guild) -> Role:
        role_id = inputs.int_field(dict(request.match_info), "role_id")
        roles, _, _ = self.sim.world.contents(guild)
        role = roles.get(role_id)
        if role is None:
            msg = f"unknown role {role_id} in guild {guild.id}"
            raise LookupError(msg)
        return role

    async def create_role(self, request: web.Request) -> web.Response:
        """Create a role; answers the role object."""
        guild = self._guild(request)
        body = await inputs.read_body(request)
        role = Role(id=self.sim.world.ids.next_id(), name="new role", position=1)
        _apply(role, body)
        role.is_managed = inputs.bool_field(body, "managed", default=False)
        roles, _, _ = self.sim.world.contents(guild)
        roles[role.id] = role
        reached = events.emit_role_event(self.sim, guild, "GUILD_ROLE_CREATE", role)
        return inputs.json_response(payloads.role_json(role) | {"sessions_notified": reached}, 201)

    async def edit_role(self, request: web.Request) -> web.Response:
        """Change a role's name, permissions, position or colour."""
        guild = self._guild(request)
        role = self._role(request, guild)
        _apply(role, await inputs.read_body(request))
        reached = events.emit_role_event(self.sim, guild, "GUILD_ROLE_UPDATE", role)
        return inputs.json_response(payloads.role_json(role) | {"sessions_notified": reached})

    async def delete_role(self, request: web.Request) -> web.Response:
        """Delete a role (never @everyone); every member holding it loses it."""
        guild = self._guild(request)
        role = self._role(request, guild)
        if role.id == guild.id:
            return inputs.error_response("@everyone cannot be deleted")
        roles, _, _ = self.sim.world.contents(guild)
        del roles[role.id]
        holders = membership.forget_role(
            self.sim.world, guild, role.id, now_ms=int(time.time() * 1000)
        )
        reached = events.emit_role_deleted(self.sim, guild, role.id)
        return inputs.json_response(
            {"id": str(role.id), "members_affected": len(holders), "sessions_notified": reached}
        )

    async def edit_guild(self, request: web.Request) -> web.Response:
        """Change a guild's features: ``{"verification_gate": true}`` turns screening on."""
        guild = self._guild(request)
        body = await inputs.read_body(request)
        gate = inputs.bool_field(body, "verification_gate", default=False)
        if body.get("verification_gate") is None:
            return inputs.error_response("give verification_gate (true or false)")
        changed = set_verification_gate(guild, is_enabled=gate)
        reached = events.emit_guild_updated(self.sim, guild) if changed else 0
        return inputs.json_response(
            {"id": str(guild.id), "features": sorted(guild.features), "sessions_notified": reached}
        )


def _apply(role: Role, body: dict[str, Any]) -> None:
    """Set the fields ``body`` gives (``permissions`` as an int or a decimal string)."""
    name = body.get("name")
    if name is not None:
        if not isinstance(name, str) or not 1 <= len(name) <= _MAX_ROLE_NAME_CHARS:
            msg = f"name must be a string of 1 to {_MAX_ROLE_NAME_CHARS} characters"
            raise inputs.BadInputError(msg)
        role.name = name
    permissions = inputs.optional_int_field(body, "permissions")
    if permissions is not None:
        if not 0 <= permissions <= _MAX_PERMISSIONS:
            msg = "permissions must be between 0 and 2**53 - 1"
            raise inputs.BadInputError(msg)
        role.permissions = permissions
    position = inputs.optional_int_field(body, "position")
    if position is not None:
        if position < 0:
            msg = "position must not be negative"
            raise inputs.BadInputError(msg)
        role.position = position
    color = inputs.optional_int_field(body, "color")
    if color is not None:
        role.color = color & 0xFFFFFF
