"""Op 8 (Request Guild Members): GUILD_MEMBERS_CHUNKs, rate limited per guild.

Owns the hub's answer to op 8: the one-request-per-guild-per-30-s limit (RATE_LIMITED
beyond it), the GUILD_MEMBERS intent check for a full list, and the chunking of members
by 1000. Members themselves are the world's.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

import orjson

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord import payloads
from shoal_sim.discord.gateway.closing import CloseCode

if TYPE_CHECKING:
    from shoal_sim.discord.gateway.hub import Gateway
    from shoal_sim.discord.gateway.sessions import Session

__all__ = ["MemberRequests"]

_GUILD_MEMBERS_CHUNK_SIZE: Final = 1000
_MEMBER_REQUEST_INTERVAL_S: Final = 30.0


class MemberRequests:
    """The hub's op 8 answers, and when each guild's members were last requested."""

    def __init__(self, hub: Gateway) -> None:
        """Answer for ``hub``, whose world and stats are used."""
        self._hub = hub
        self._requested_at: dict[tuple[int, int], float] = {}

    def answer(self, session: Session, data: Any) -> None:  # noqa: ANN401 - raw JSON
        """Answer op 8 with GUILD_MEMBERS_CHUNKs, or RATE_LIMITED (1 per guild per 30 s)."""
        hub = self._hub
        if not isinstance(data, dict) or "guild_id" not in data:
            hub.close_session(session, CloseCode.DECODE_ERROR)
            return
        try:
            guild_id = int(data["guild_id"])
        except (TypeError, ValueError):
            hub.close_session(session, CloseCode.DECODE_ERROR)
            return
        now = time.monotonic()
        key = (session.app_id, guild_id)
        last = self._requested_at.get(key)
        if last is not None and now - last < _MEMBER_REQUEST_INTERVAL_S:
            meta = {"guild_id": str(guild_id), "nonce": data.get("nonce")}
            limited = {
                "opcode": 8,
                "retry_after": round(_MEMBER_REQUEST_INTERVAL_S - (now - last), 3),
                "meta": meta,
            }
            hub.emit(session, b"RATE_LIMITED", orjson.dumps(limited))
            return
        self._requested_at[key] = now
        guild = hub.world.guild(guild_id)
        if guild is None or guild.application_id != session.app_id:
            return
        query = str(data.get("query") or "")
        if not query and not session.intents & intent_bits.GUILD_MEMBERS:
            hub.close_session(session, CloseCode.DISALLOWED_INTENTS)
            return
        limit = int(data.get("limit") or 0)
        _, _, members = hub.world.contents(guild)
        chosen = []
        for member in members.values():
            user = hub.world.user(member.user_id)
            if user is None or not user.username.startswith(query):
                continue
            chosen.append(payloads.member_json(member, user))
            if limit and len(chosen) >= limit:
                break
        chunks = [
            chosen[i : i + _GUILD_MEMBERS_CHUNK_SIZE]
            for i in range(0, len(chosen), _GUILD_MEMBERS_CHUNK_SIZE)
        ] or [[]]
        for index, chunk in enumerate(chunks):
            body = {
                "guild_id": str(guild_id),
                "members": chunk,
                "chunk_index": index,
                "chunk_count": len(chunks),
                "not_found": [],
                "nonce": data.get("nonce"),
            }
            hub.emit(session, b"GUILD_MEMBERS_CHUNK", orjson.dumps(body))
