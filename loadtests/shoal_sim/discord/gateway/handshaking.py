"""IDENTIFY and RESUME: how a session starts, is refused, or picks up where it left off.

Owns the hub's answer to op 2 and op 6: the session-start budget, the identify buckets'
windows, READY and the GUILD_CREATEs streamed after it, and the replay of a resumed
session. The pure judgements (payload shape, shard limits, buckets) live in
:mod:`.identifying`; the sessions themselves in :class:`~.hub.Gateway`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Final

import orjson

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord import payloads
from shoal_sim.discord.gateway import identifying
from shoal_sim.discord.gateway.closing import CloseCode
from shoal_sim.discord.gateway.identifying import Verdict
from shoal_sim.discord.gateway.sessions import Session

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Application, User
    from shoal_sim.discord.gateway.connection import Connection
    from shoal_sim.discord.gateway.hub import Gateway

__all__ = ["Handshakes"]

_LOG = logging.getLogger(__name__)
_READY: Final = b"READY"
_GUILD_CREATE: Final = b"GUILD_CREATE"
#: GUILD_CREATEs built per event-loop turn after READY.
_GUILD_CREATE_BATCH: Final = 100


class Handshakes:
    """The hub's IDENTIFY and RESUME answers, and the state they keep."""

    def __init__(self, hub: Gateway) -> None:
        """Answer for ``hub``, whose sessions, world, stats and settings are used."""
        self._hub = hub
        self._last_identify_at: dict[tuple[int, int], float] = {}
        self._streams: set[asyncio.Task[None]] = set()

    def cancel_streams(self) -> None:
        """Cancel every GUILD_CREATE stream still running."""
        for task in list(self._streams):
            task.cancel()

    # -- identify ------------------------------------------------------------------------

    def identify(self, connection: Connection, data: Any) -> None:  # noqa: ANN401 - raw JSON
        """Answer an IDENTIFY: READY and GUILD_CREATEs, op 9, or a close."""
        hub = self._hub
        parsed = identifying.judge_shape(data)
        if isinstance(parsed, identifying.IdentifyOutcome):
            self._refuse(connection, parsed)
            return
        app = hub.world.application_for_token(parsed.token)
        if app is None:
            self._refuse(
                connection,
                identifying.IdentifyOutcome(
                    Verdict.CLOSE, CloseCode.AUTHENTICATION_FAILED, "unknown or reset token"
                ),
            )
            return
        now = time.monotonic()
        hub.world.refresh_session_starts(app, now)
        if app.session_start_remaining <= 0:
            self._exhaust(app, connection)
            return
        app.session_start_remaining -= 1
        hub.stats.identifies += 1
        hub.stats.identifies_by_shard[f"{parsed.shard_id}/{parsed.shard_count}"] += 1
        settings = hub.settings
        limits = identifying.IdentifyLimits(
            privileged_intents=settings.privileged_intents,
            max_guilds_per_shard=settings.max_guilds_per_shard,
            shard_count_multiple=settings.shard_count_multiple,
            max_concurrency=app.max_concurrency,
            identify_window_s=settings.identify_window_s,
        )
        guild_count = self._guild_count(app, parsed.shard_id, parsed.shard_count)
        refusal = identifying.judge_shard(parsed, limits, guild_count)
        if refusal is not None:
            self._refuse(connection, refusal)
            return
        bucket_key = (app.id, identifying.bucket_of(parsed.shard_id, app.max_concurrency))
        if not identifying.is_bucket_free(
            self._last_identify_at.get(bucket_key), now, settings.identify_window_s
        ):
            self._refuse(
                connection,
                identifying.IdentifyOutcome(
                    Verdict.INVALID_SESSION, detail="identify bucket already used in this window"
                ),
            )
            return
        self._last_identify_at[bucket_key] = now
        session = Session(
            app_id=app.id,
            shard_id=parsed.shard_id,
            shard_count=parsed.shard_count,
            intents=parsed.intents,
            replay_buffer=settings.replay_buffer,
        )
        session.connection = connection
        connection.session = session
        hub.sessions.add(session)
        self._send_ready(app, session)

    def _guild_count(self, app: Application, shard_id: int, shard_count: int) -> int:
        if shard_count < 1:
            return 0
        return len(self._hub.world.guild_ids_on_shard(app, shard_id, shard_count))

    def _refuse(self, connection: Connection, outcome: identifying.IdentifyOutcome) -> None:
        if outcome.verdict is Verdict.INVALID_SESSION:
            self._hub.invalidate_session(connection, outcome.detail)
            return
        code = outcome.close_code or CloseCode.UNKNOWN_ERROR
        _LOG.info("refusing IDENTIFY with %s: %s", int(code), outcome.detail)
        connection.close(code, code.reason)

    def _exhaust(self, app: Application, connection: Connection) -> None:
        """No session start left: end every session of the bot and reset its token."""
        hub = self._hub
        hub.stats.session_start_exhaustions += 1
        _LOG.warning("application %s exhausted its session starts: token reset", app.id)
        hub.world.reset_token(app)
        for session in hub.sessions.of_app(app.id):
            if session.connection is not None:
                session.connection.close(
                    CloseCode.AUTHENTICATION_FAILED, CloseCode.AUTHENTICATION_FAILED.reason
                )
            hub.sessions.remove(session)
        connection.close(CloseCode.AUTHENTICATION_FAILED, CloseCode.AUTHENTICATION_FAILED.reason)

    # -- READY and GUILD_CREATE ------------------------------------------------------------

    def _send_ready(self, app: Application, session: Session) -> None:
        world = self._hub.world
        bot_user = world.user(app.bot_user_id)
        assert bot_user is not None  # noqa: S101 - every application has its bot user
        guild_ids = list(world.guild_ids_on_shard(app, session.shard_id, session.shard_count))
        ready = {
            "v": 10,
            "user": payloads.user_json(bot_user)
            | {"mfa_enabled": False, "verified": True, "email": None, "bot": True},
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._hub.ws_url.replace("/gateway", "/gateway-resume"),
            "shard": [session.shard_id, session.shard_count],
            "application": {"id": str(app.id), "flags": 0},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["local"],
            "user_settings": {},
            "auth": {},
            "_trace": ["shoal-sim"],
        }
        self._hub.emit(session, _READY, orjson.dumps(ready))
        if session.intents & intent_bits.GUILDS:
            first, rest = guild_ids[:_GUILD_CREATE_BATCH], guild_ids[_GUILD_CREATE_BATCH:]
            self._send_guild_creates(session, first, bot_user)
            if rest:
                # Discord streams GUILD_CREATEs after READY; building thousands at once
                # would stall every other connection (and delay other shards' IDENTIFYs).
                task = asyncio.create_task(self._stream_guild_creates(session, rest, bot_user))
                self._streams.add(task)
                task.add_done_callback(self._streams.discard)

    def _send_guild_creates(self, session: Session, guild_ids: list[int], bot_user: User) -> None:
        world = self._hub.world
        for guild_id in guild_ids:
            if not session.is_live:
                return
            guild = world.guild(guild_id)
            if guild is None:
                continue  # the bot left it meanwhile
            body = payloads.guild_create_json(guild, world, bot_user=bot_user)
            self._hub.emit(session, _GUILD_CREATE, orjson.dumps(body))

    async def _stream_guild_creates(
        self, session: Session, guild_ids: list[int], bot_user: User
    ) -> None:
        for start in range(0, len(guild_ids), _GUILD_CREATE_BATCH):
            await asyncio.sleep(0)
            batch = guild_ids[start : start + _GUILD_CREATE_BATCH]
            self._send_guild_creates(session, batch, bot_user)

    # -- resume ----------------------------------------------------------------------------

    def resume(self, connection: Connection, data: Any) -> None:  # noqa: ANN401 - raw JSON
        """Answer a RESUME: replay what was missed then RESUMED, or op 9 / a close."""
        hub = self._hub
        if not isinstance(data, dict) or not all(k in data for k in ("token", "session_id", "seq")):
            connection.close(CloseCode.DECODE_ERROR, CloseCode.DECODE_ERROR.reason)
            return
        app = hub.world.application_for_token(str(data["token"]))
        if app is None:
            connection.close(
                CloseCode.AUTHENTICATION_FAILED, CloseCode.AUTHENTICATION_FAILED.reason
            )
            return
        session = hub.sessions.by_id.get(str(data["session_id"]))
        seq = data["seq"]
        if session is None or session.app_id != app.id or not isinstance(seq, int):
            hub.invalidate_session(connection, "unknown or expired session")
            return
        if seq > session.seq:
            # Discord: "Reconnect and start a new session". The session ends here (this
            # connection never held it, so connection_closed cannot end it); a retry with
            # the same seq then gets op 9 instead of 4007 forever.
            hub.close_session(session, CloseCode.INVALID_SEQ)
            hub.sessions.remove(session)
            connection.close(CloseCode.INVALID_SEQ, CloseCode.INVALID_SEQ.reason)
            return
        missed = session.missed_since(seq)
        if missed is None:
            hub.sessions.remove(session)
            hub.invalidate_session(connection, "missed dispatches no longer buffered")
            return
        previous = session.connection
        if previous is not None:
            previous.session = None
            previous.close(CloseCode.UNKNOWN_ERROR, "session resumed on another connection")
        session.connection = connection
        session.disconnected_at = None
        connection.session = session
        hub.stats.resumes += 1
        hub.stats.resumes_by_shard[session.shard_label] += 1
        for entry_seq, event, body in missed:
            connection.send_dispatch(entry_seq, event, body)
        hub.stats.dispatches += len(missed)
        connection.send_dispatch(session.seq, b"RESUMED", b'{"_trace":["shoal-sim"]}')
