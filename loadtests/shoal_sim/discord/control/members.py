"""Control routes for members: join, complete screening, leave, set roles, read back.

Owns ``POST /_sim/guilds/{guild_id}/members`` (a user joins: GUILD_MEMBER_ADD),
``POST /_sim/guilds/{guild_id}/members/{user_id}/screening`` (membership screening
completed: GUILD_MEMBER_UPDATE with ``pending: false``),
``PUT /_sim/guilds/{guild_id}/members/{user_id}/roles`` (set any member's roles, the
bot's included, without the hierarchy checks a bot gets: GUILD_MEMBER_UPDATE),
``DELETE /_sim/guilds/{guild_id}/members/{user_id}`` (the member leaves:
GUILD_MEMBER_REMOVE) and ``GET /_sim/guilds/{guild_id}/members/{user_id}`` (the
member now and its role history). Member events need GUILD_MEMBERS, as on Discord.
The membership changes themselves are :mod:`shoal_sim.discord.membership`'s.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from shoal_sim.discord import events, membership, payloads
from shoal_sim.discord.control import inputs

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Guild, Member, User
    from shoal_sim.discord.server import Simulator

__all__ = ["MemberHandlers"]


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclasses.dataclass(frozen=True, slots=True)
class MemberHandlers:
    """Member handlers bound to one simulator."""

    sim: Simulator

    def _guild(self, request: web.Request) -> Guild:
        return inputs.guild_of(self.sim, inputs.int_field(dict(request.match_info), "guild_id"))

    def _member(self, request: web.Request, guild: Guild) -> Member:
        user_id = inputs.int_field(dict(request.match_info), "user_id")
        _, _, members = self.sim.world.contents(guild)
        member = members.get(user_id)
        if member is None:
            msg = f"user {user_id} is not a member of guild {guild.id}"
            raise LookupError(msg)
        return member

    async def add_member(self, request: web.Request) -> web.Response:
        """A user joins the guild (created if new); answers the member object."""
        guild = self._guild(request)
        body = await inputs.read_body(request)
        is_gated = membership.has_verification_gate(guild)
        is_pending = inputs.bool_field(body, "pending", default=is_gated)
        if is_pending and not is_gated:
            return inputs.error_response(
                "pending needs the guild's verification gate: "
                "PATCH /_sim/guilds/{id} with verification_gate true first"
            )
        user = self._user_for(body)
        if user.id in guild.bans:
            return inputs.error_response(f"user {user.id} is banned from guild {guild.id}")
        try:
            member = membership.add_member(
                self.sim.world, guild, user, is_pending=is_pending, now_ms=_now_ms()
            )
        except membership.MemberExistsError as exc:
            return inputs.error_response(str(exc))
        reached = events.emit_member_added(self.sim, guild, member)
        return inputs.json_response(self._member_json(guild, member, reached), 201)

    def _user_for(self, body: inputs.JSON) -> User:
        world = self.sim.world
        user_id = inputs.optional_int_field(body, "user_id")
        username = body.get("username")
        if username is not None and not isinstance(username, str):
            msg = "username must be a string"
            raise inputs.BadInputError(msg)
        if user_id is not None:
            known = world.user(user_id)
            if known is not None:
                return known
            if user_id <= 0:
                msg = "user_id must be a positive snowflake"
                raise inputs.BadInputError(msg)
        return world.add_user(
            username or f"joiner{world.ids.next_id() % 10_000_000:07d}",
            is_bot=inputs.bool_field(body, "bot", default=False),
            has_avatar=inputs.bool_field(body, "avatar", default=True),
            user_id=user_id,
        )

    async def complete_screening(self, request: web.Request) -> web.Response:
        """The member passes membership screening (``pending`` becomes false)."""
        guild = self._guild(request)
        member = self._member(request, guild)
        if not membership.complete_screening(member):
            return inputs.error_response(f"member {member.user_id} is not pending")
        reached = events.emit_member_updated(self.sim, guild, member)
        return inputs.json_response(self._member_json(guild, member, reached))

    async def set_roles(self, request: web.Request) -> web.Response:
        """Give a member exactly ``role_ids`` (no hierarchy check: the test decides)."""
        guild = self._guild(request)
        member = self._member(request, guild)
        body = await inputs.read_body(request)
        raw = body.get("role_ids")
        if not isinstance(raw, list):
            return inputs.error_response("role_ids must be a list of role ids")
        role_ids = [inputs.int_field({"role_id": r}, "role_id") for r in raw]
        roles, _, _ = self.sim.world.contents(guild)
        unknown = [r for r in role_ids if r not in roles or r == guild.id]
        if unknown:
            return inputs.error_response(f"not roles of guild {guild.id} (or @everyone): {unknown}")
        membership.set_roles(
            self.sim.world, guild, member, role_ids, source="control", now_ms=_now_ms()
        )
        reached = events.emit_member_updated(self.sim, guild, member)
        return inputs.json_response(self._member_json(guild, member, reached))

    async def remove_member(self, request: web.Request) -> web.Response:
        """The member leaves the guild (the bot leaves with ``DELETE /_sim/guilds/{id}``)."""
        guild = self._guild(request)
        member = self._member(request, guild)
        if member.user_id == self.sim.world.bot_member(guild).user_id:
            return inputs.error_response("the bot leaves with DELETE /_sim/guilds/{guild_id}")
        membership.remove_member(self.sim.world, guild, member.user_id)
        reached = events.emit_member_removed(self.sim, guild, member.user_id)
        return inputs.json_response(
            {"user_id": str(member.user_id), "member_count": guild.member_count}
            | {"sessions_notified": reached}
        )

    async def member_state(self, request: web.Request) -> web.Response:
        """Answer the member now (or that it left) and every role change it had."""
        guild = self._guild(request)
        user_id = inputs.int_field(dict(request.match_info), "user_id")
        _, _, members = self.sim.world.contents(guild)
        member = members.get(user_id)
        history = membership.role_history(self.sim.world, guild.id, user_id)
        if member is None and not history:
            msg = f"user {user_id} is not a member of guild {guild.id}"
            raise LookupError(msg)
        state: inputs.JSON = {"guild_id": str(guild.id), "user_id": str(user_id)}
        state["is_member"] = member is not None
        if member is not None:
            state |= {
                "roles": [str(r) for r in member.role_ids],
                "pending": member.is_pending,
                "flags": member.flags,
                "nick": member.nick,
                "joined_at": payloads.iso_timestamp(member.joined_at_ms),
            }
        state["role_history"] = [
            {
                "at_ms": change.at_ms,
                "at": payloads.iso_timestamp(change.at_ms),
                "role_id": str(change.role_id),
                "change": "added" if change.is_added else "removed",
                "was_pending": change.was_pending,
                "source": change.source,
            }
            for change in history
        ]
        return inputs.json_response(state)

    def _member_json(self, guild: Guild, member: Member, reached: int) -> inputs.JSON:
        user = payloads.user_of(self.sim.world, member.user_id)
        return payloads.member_json(member, user) | {
            "guild_id": str(guild.id),
            "sessions_notified": reached,
        }
