"""Op 4 (Voice State Update): the bot joins, moves or leaves a voice channel.

Owns the hub's answer to op 4: the bot's voice state in the world, VOICE_STATE_UPDATE to
the guild's sessions and VOICE_SERVER_UPDATE to the asking one. No voice server exists;
the endpoint it names is never served.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import orjson

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord import payloads
from shoal_sim.discord.entities import VoiceState
from shoal_sim.discord.gateway.closing import CloseCode
from shoal_sim.discord.snowflakes import shard_for

if TYPE_CHECKING:
    from shoal_sim.discord.gateway.hub import Gateway
    from shoal_sim.discord.gateway.sessions import Session

__all__ = ["update_voice_state"]


def update_voice_state(hub: Gateway, session: Session, data: Any) -> None:  # noqa: ANN401
    """Answer op 4: the bot's VOICE_STATE_UPDATE, and VOICE_SERVER_UPDATE on this shard."""
    if not isinstance(data, dict) or "guild_id" not in data:
        hub.close_session(session, CloseCode.DECODE_ERROR)
        return
    try:
        guild_id = int(data["guild_id"])
        channel_id = None if data.get("channel_id") is None else int(data["channel_id"])
    except (TypeError, ValueError):
        hub.close_session(session, CloseCode.DECODE_ERROR)
        return
    world = hub.world
    guild = world.guild(guild_id)
    if (
        guild is None
        or guild.application_id != session.app_id
        or (shard_for(guild_id, session.shard_count) != session.shard_id)
    ):
        return  # Discord ignores voice updates for guilds this session does not own.
    app = world.applications[session.app_id]
    state = guild.voice_states.get(app.bot_user_id)
    voice_session_id = state.session_id if state else secrets.token_hex(16)
    if channel_id is None:
        guild.voice_states.pop(app.bot_user_id, None)
        state = VoiceState(user_id=app.bot_user_id, channel_id=None, session_id=voice_session_id)
    else:
        state = VoiceState(
            user_id=app.bot_user_id,
            channel_id=channel_id,
            session_id=voice_session_id,
            is_self_mute=bool(data.get("self_mute")),
            is_self_deaf=bool(data.get("self_deaf")),
        )
        guild.voice_states[app.bot_user_id] = state
    body = payloads.voice_state_json(state, guild_id)
    _, _, members = world.contents(guild)
    bot_user = world.user(app.bot_user_id)
    member = members.get(app.bot_user_id)
    if member is not None and bot_user is not None:
        body["member"] = payloads.member_json(member, bot_user)
    hub.dispatch_guild(
        app.id, guild_id, "VOICE_STATE_UPDATE", body, intent=intent_bits.GUILD_VOICE_STATES
    )
    if channel_id is not None:
        server = {
            "token": secrets.token_hex(8),
            "guild_id": str(guild_id),
            "endpoint": "voice.sim.local:443",
        }
        hub.emit(session, b"VOICE_SERVER_UPDATE", orjson.dumps(server))
