"""The gateway hub: identifies, resumes, routes dispatches to every covering session.

Connections (:mod:`.connection`) hand commands here; REST handlers, the control API
and the load generator call :meth:`Gateway.dispatch_guild` and friends to emit events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any, Final

import orjson

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord import payloads
from shoal_sim.discord.entities import VoiceState
from shoal_sim.discord.gateway import identifying
from shoal_sim.discord.gateway.closing import CloseCode
from shoal_sim.discord.gateway.connection import SESSION_ENDING_CLIENT_CODES
from shoal_sim.discord.gateway.identifying import Verdict
from shoal_sim.discord.gateway.sessions import Session, SessionIndex
from shoal_sim.discord.snowflakes import shard_for

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Application, User
    from shoal_sim.discord.gateway.connection import Connection
    from shoal_sim.discord.settings import SimSettings
    from shoal_sim.discord.stats import SimStats
    from shoal_sim.discord.world import World

__all__ = ["Gateway"]

_LOG = logging.getLogger(__name__)
_OP_RECONNECT: Final = 7
_OP_INVALID_SESSION: Final = 9
_READY: Final = b"READY"
_GUILD_CREATE: Final = b"GUILD_CREATE"
_GUILD_MEMBERS_CHUNK_SIZE: Final = 1000
_MEMBER_REQUEST_INTERVAL_S: Final = 30.0
#: GUILD_CREATEs built per event-loop turn after READY.
_GUILD_CREATE_BATCH: Final = 100


class Gateway:
    """Every session of every application, and the rules that govern them."""

    def __init__(self, world: World, stats: SimStats, settings: SimSettings) -> None:
        """Create the hub; :attr:`ws_url` is set once the server knows its address."""
        self.world = world
        self.stats = stats
        self.settings = settings
        self.sessions = SessionIndex()
        self.connections: set[Connection] = set()
        self.ws_url = "ws://127.0.0.1:0/gateway"
        self.rest_base_url = "http://127.0.0.1:0/api/v10"
        self._last_identify_at: dict[tuple[int, int], float] = {}
        self._member_requests_at: dict[tuple[int, int], float] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._streams: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start expiring sessions whose resume window has passed."""
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="session sweeper")

    async def stop(self) -> None:
        """Stop the sweeper and close every connection with 1001 (server going away)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for task in list(self._streams):
            task.cancel()
        for connection in list(self.connections):
            connection.close(1001, "simulator shutting down")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.settings.resume_timeout_s / 4))
            self.expire_sessions(time.monotonic())

    def expire_sessions(self, now: float) -> None:
        """Forget disconnected sessions whose resume window has passed."""
        timeout_s = self.settings.resume_timeout_s
        for session in list(self.sessions.by_id.values()):
            if (
                session.connection is None
                and session.disconnected_at is not None
                and (now - session.disconnected_at >= timeout_s)
            ):
                self.sessions.remove(session)

    def connection_opened(self, connection: Connection) -> None:
        """Track a new connection."""
        self.connections.add(connection)
        self.stats.connections += 1

    def connection_closed(self, connection: Connection, client_code: int | None) -> None:
        """Detach a closed connection; 1000/1001 from the client ends its session."""
        self.connections.discard(connection)
        if client_code is not None:
            self.stats.client_close_codes[client_code] += 1
        session = connection.session
        if session is None or session.connection is not connection:
            return
        session.connection = None
        session.disconnected_at = time.monotonic()
        ended_by_client = client_code in SESSION_ENDING_CLIENT_CODES
        timed_out = connection.close_code_sent == CloseCode.SESSION_TIMED_OUT
        if ended_by_client or timed_out or connection.close_code_sent in _FATAL_CODES:
            self.sessions.remove(session)

    # -- identify and resume -----------------------------------------------------------

    def identify(self, connection: Connection, data: Any) -> None:  # noqa: ANN401 - raw JSON
        """Answer an IDENTIFY: READY and GUILD_CREATEs, op 9, or a close."""
        parsed = identifying.judge_shape(data)
        if isinstance(parsed, identifying.IdentifyOutcome):
            self._refuse(connection, parsed)
            return
        app = self.world.application_for_token(parsed.token)
        if app is None:
            self._refuse(
                connection,
                identifying.IdentifyOutcome(
                    Verdict.CLOSE, CloseCode.AUTHENTICATION_FAILED, "unknown or reset token"
                ),
            )
            return
        now = time.monotonic()
        self.world.refresh_session_starts(app, now)
        if app.session_start_remaining <= 0:
            self._exhaust(app, connection)
            return
        app.session_start_remaining -= 1
        self.stats.identifies += 1
        self.stats.identifies_by_shard[f"{parsed.shard_id}/{parsed.shard_count}"] += 1
        limits = identifying.IdentifyLimits(
            privileged_intents=self.settings.privileged_intents,
            max_guilds_per_shard=self.settings.max_guilds_per_shard,
            shard_count_multiple=self.settings.shard_count_multiple,
            max_concurrency=app.max_concurrency,
            identify_window_s=self.settings.identify_window_s,
        )
        guild_count = self._guild_count(app, parsed.shard_id, parsed.shard_count)
        refusal = identifying.judge_shard(parsed, limits, guild_count)
        if refusal is not None:
            self._refuse(connection, refusal)
            return
        bucket_key = (app.id, identifying.bucket_of(parsed.shard_id, app.max_concurrency))
        if not identifying.is_bucket_free(
            self._last_identify_at.get(bucket_key), now, self.settings.identify_window_s
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
            replay_buffer=self.settings.replay_buffer,
        )
        session.connection = connection
        connection.session = session
        self.sessions.add(session)
        self._send_ready(app, session)

    def _guild_count(self, app: Application, shard_id: int, shard_count: int) -> int:
        if shard_count < 1:
            return 0
        return len(self.world.guild_ids_on_shard(app, shard_id, shard_count))

    def _refuse(self, connection: Connection, outcome: identifying.IdentifyOutcome) -> None:
        if outcome.verdict is Verdict.INVALID_SESSION:
            self.stats.invalid_sessions += 1
            self.stats.invalid_sessions_by_reason[outcome.detail] += 1
            connection.send_op(_OP_INVALID_SESSION, False)  # noqa: FBT003 - Discord's payload
            return
        code = outcome.close_code or CloseCode.UNKNOWN_ERROR
        _LOG.info("refusing IDENTIFY with %s: %s", int(code), outcome.detail)
        connection.close(code, code.reason)

    def _exhaust(self, app: Application, connection: Connection) -> None:
        """No session start left: end every session of the bot and reset its token."""
        self.stats.session_start_exhaustions += 1
        _LOG.warning("application %s exhausted its session starts: token reset", app.id)
        self.world.reset_token(app)
        for session in self.sessions.of_app(app.id):
            if session.connection is not None:
                session.connection.close(
                    CloseCode.AUTHENTICATION_FAILED, CloseCode.AUTHENTICATION_FAILED.reason
                )
            self.sessions.remove(session)
        connection.close(CloseCode.AUTHENTICATION_FAILED, CloseCode.AUTHENTICATION_FAILED.reason)

    def _send_ready(self, app: Application, session: Session) -> None:
        bot_user = self.world.user(app.bot_user_id)
        assert bot_user is not None  # noqa: S101 - every application has its bot user
        guild_ids = list(self.world.guild_ids_on_shard(app, session.shard_id, session.shard_count))
        ready = {
            "v": 10,
            "user": payloads.user_json(bot_user)
            | {"mfa_enabled": False, "verified": True, "email": None, "bot": True},
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.ws_url.replace("/gateway", "/gateway-resume"),
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
        self._emit(session, _READY, orjson.dumps(ready))
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
        for guild_id in guild_ids:
            if not session.is_live:
                return
            guild = self.world.guild(guild_id)
            if guild is None:
                continue  # the bot left it meanwhile
            body = payloads.guild_create_json(guild, self.world, bot_user=bot_user)
            self._emit(session, _GUILD_CREATE, orjson.dumps(body))

    async def _stream_guild_creates(
        self, session: Session, guild_ids: list[int], bot_user: User
    ) -> None:
        for start in range(0, len(guild_ids), _GUILD_CREATE_BATCH):
            await asyncio.sleep(0)
            batch = guild_ids[start : start + _GUILD_CREATE_BATCH]
            self._send_guild_creates(session, batch, bot_user)

    def resume(self, connection: Connection, data: Any) -> None:  # noqa: ANN401 - raw JSON
        """Answer a RESUME: replay what was missed then RESUMED, or op 9 / a close."""
        if not isinstance(data, dict) or not all(k in data for k in ("token", "session_id", "seq")):
            connection.close(CloseCode.DECODE_ERROR, CloseCode.DECODE_ERROR.reason)
            return
        app = self.world.application_for_token(str(data["token"]))
        if app is None:
            connection.close(
                CloseCode.AUTHENTICATION_FAILED, CloseCode.AUTHENTICATION_FAILED.reason
            )
            return
        session = self.sessions.by_id.get(str(data["session_id"]))
        seq = data["seq"]
        if session is None or session.app_id != app.id or not isinstance(seq, int):
            self._invalidate_resume(connection, "unknown or expired session")
            return
        if seq > session.seq:
            # Discord: "Reconnect and start a new session". The session ends here (this
            # connection never held it, so connection_closed cannot end it); a retry with
            # the same seq then gets op 9 instead of 4007 forever.
            self._close(session, CloseCode.INVALID_SEQ)
            self.sessions.remove(session)
            connection.close(CloseCode.INVALID_SEQ, CloseCode.INVALID_SEQ.reason)
            return
        missed = session.missed_since(seq)
        if missed is None:
            self.sessions.remove(session)
            self._invalidate_resume(connection, "missed dispatches no longer buffered")
            return
        previous = session.connection
        if previous is not None:
            previous.session = None
            previous.close(CloseCode.UNKNOWN_ERROR, "session resumed on another connection")
        session.connection = connection
        session.disconnected_at = None
        connection.session = session
        self.stats.resumes += 1
        self.stats.resumes_by_shard[session.shard_label] += 1
        for entry_seq, event, body in missed:
            connection.send_dispatch(entry_seq, event, body)
        self.stats.dispatches += len(missed)
        connection.send_dispatch(session.seq, b"RESUMED", b'{"_trace":["shoal-sim"]}')

    def _invalidate_resume(self, connection: Connection, reason: str) -> None:
        self.stats.invalid_sessions += 1
        self.stats.invalid_sessions_by_reason[reason] += 1
        connection.send_op(_OP_INVALID_SESSION, False)  # noqa: FBT003 - Discord's payload

    # -- dispatching ---------------------------------------------------------------------

    def _emit(self, session: Session, event: bytes, body: bytes) -> None:
        session.dispatch(event, body)
        self.stats.dispatches += 1
        self.stats.dispatches_by_type[event.decode()] += 1

    def dispatch_guild(
        self,
        app_id: int,
        guild_id: int,
        event: str,
        data: dict[str, Any] | bytes,
        *,
        intent: int,
        strip_content: bool = False,
    ) -> int:
        """Send a guild event to every session of ``app_id`` covering the guild.

        Sessions lacking ``intent`` are skipped (``intents.NONE`` reaches all). With
        ``strip_content`` (a dict ``data`` with ``content``), sessions lacking the
        MESSAGE_CONTENT intent get the event with empty content, as Discord sends it.
        Each variant is encoded once, and only if some session needs it.

        Returns:
            The number of sessions that received the event.
        """
        name = event.encode()
        full: bytes | None = data if isinstance(data, bytes) else None
        stripped: bytes | None = None
        sent = 0
        for session in self.sessions.covering(app_id, guild_id):
            if intent and not session.intents & intent:
                continue
            if strip_content and not session.intents & intent_bits.MESSAGE_CONTENT:
                if stripped is None:
                    assert isinstance(data, dict)  # noqa: S101 - strip_content needs a dict
                    stripped = orjson.dumps({**data, "content": ""})
                session.dispatch(name, stripped)
            else:
                if full is None:
                    full = orjson.dumps(data)
                session.dispatch(name, full)
            sent += 1
        if sent:
            self.stats.dispatches += sent
            self.stats.dispatches_by_type[event] += sent
        return sent

    def dispatch_direct(
        self, app_id: int, event: str, data: dict[str, Any] | bytes, *, intent: int
    ) -> int:
        """Send an event with no guild (DMs): it goes to shard 0 sessions only."""
        body = data if isinstance(data, bytes) else orjson.dumps(data)
        name = event.encode()
        sent = 0
        for session in self.sessions.of_shard(app_id, 0):
            if intent and not session.intents & intent:
                continue
            session.dispatch(name, body)
            sent += 1
        self.stats.dispatches += sent
        if sent:
            self.stats.dispatches_by_type[event] += sent
        return sent

    # -- voice and members -----------------------------------------------------------------

    def voice_state_update(self, session: Session, data: Any) -> None:  # noqa: ANN401
        """Answer op 4: the bot's VOICE_STATE_UPDATE, and VOICE_SERVER_UPDATE on this shard."""
        if not isinstance(data, dict) or "guild_id" not in data:
            self._close(session, CloseCode.DECODE_ERROR)
            return
        try:
            guild_id = int(data["guild_id"])
            channel_id = None if data.get("channel_id") is None else int(data["channel_id"])
        except (TypeError, ValueError):
            self._close(session, CloseCode.DECODE_ERROR)
            return
        guild = self.world.guild(guild_id)
        if (
            guild is None
            or guild.application_id != session.app_id
            or (shard_for(guild_id, session.shard_count) != session.shard_id)
        ):
            return  # Discord ignores voice updates for guilds this session does not own.
        app = self.world.applications[session.app_id]
        state = guild.voice_states.get(app.bot_user_id)
        voice_session_id = state.session_id if state else secrets.token_hex(16)
        if channel_id is None:
            guild.voice_states.pop(app.bot_user_id, None)
            state = VoiceState(
                user_id=app.bot_user_id, channel_id=None, session_id=voice_session_id
            )
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
        _, _, members = self.world.contents(guild)
        bot_user = self.world.user(app.bot_user_id)
        member = members.get(app.bot_user_id)
        if member is not None and bot_user is not None:
            body["member"] = payloads.member_json(member, bot_user)
        self.dispatch_guild(
            app.id, guild_id, "VOICE_STATE_UPDATE", body, intent=intent_bits.GUILD_VOICE_STATES
        )
        if channel_id is not None:
            server = {
                "token": secrets.token_hex(8),
                "guild_id": str(guild_id),
                "endpoint": "voice.sim.local:443",
            }
            self._emit(session, b"VOICE_SERVER_UPDATE", orjson.dumps(server))

    def request_guild_members(self, session: Session, data: Any) -> None:  # noqa: ANN401
        """Answer op 8 with GUILD_MEMBERS_CHUNKs, or RATE_LIMITED (1 per guild per 30 s)."""
        if not isinstance(data, dict) or "guild_id" not in data:
            self._close(session, CloseCode.DECODE_ERROR)
            return
        try:
            guild_id = int(data["guild_id"])
        except (TypeError, ValueError):
            self._close(session, CloseCode.DECODE_ERROR)
            return
        now = time.monotonic()
        key = (session.app_id, guild_id)
        last = self._member_requests_at.get(key)
        if last is not None and now - last < _MEMBER_REQUEST_INTERVAL_S:
            meta = {"guild_id": str(guild_id), "nonce": data.get("nonce")}
            limited = {
                "opcode": 8,
                "retry_after": round(_MEMBER_REQUEST_INTERVAL_S - (now - last), 3),
                "meta": meta,
            }
            self._emit(session, b"RATE_LIMITED", orjson.dumps(limited))
            return
        self._member_requests_at[key] = now
        guild = self.world.guild(guild_id)
        if guild is None or guild.application_id != session.app_id:
            return
        query = str(data.get("query") or "")
        if not query and not session.intents & intent_bits.GUILD_MEMBERS:
            self._close(session, CloseCode.DISALLOWED_INTENTS)
            return
        limit = int(data.get("limit") or 0)
        _, _, members = self.world.contents(guild)
        chosen = []
        for member in members.values():
            user = self.world.user(member.user_id)
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
            self._emit(session, b"GUILD_MEMBERS_CHUNK", orjson.dumps(body))

    def _close(self, session: Session, code: CloseCode) -> None:
        if session.connection is not None:
            session.connection.close(code, code.reason)

    # -- control --------------------------------------------------------------------------

    def force(self, sessions: list[Session], action: str, *, code: int | None = None) -> int:
        """Apply a control action to sessions; returns how many were connected.

        ``reconnect`` sends op 7, ``invalidate`` op 9 ``d:false`` (the session ends),
        ``invalidate-resumable`` op 9 ``d:true``, ``close`` closes with ``code`` (the
        session stays resumable unless the code is fatal or 4009), ``drop`` cuts the
        TCP connection with no close frame.
        """
        touched = 0
        for session in sessions:
            connection = session.connection
            if connection is None:
                continue
            touched += 1
            if action == "reconnect":
                connection.send_op(_OP_RECONNECT, None)
            elif action == "invalidate":
                self.sessions.remove(session)
                # The connection may IDENTIFY again (Discord: "reconnect and identify").
                session.connection = None
                connection.session = None
                self.stats.invalid_sessions += 1
                self.stats.invalid_sessions_by_reason["forced"] += 1
                connection.send_op(_OP_INVALID_SESSION, False)  # noqa: FBT003
            elif action == "invalidate-resumable":
                self.stats.invalid_sessions += 1
                self.stats.invalid_sessions_by_reason["forced resumable"] += 1
                connection.send_op(_OP_INVALID_SESSION, True)  # noqa: FBT003
            elif action == "close":
                close_code = code or CloseCode.UNKNOWN_ERROR
                reason = (
                    CloseCode(close_code).reason
                    if close_code in CloseCode.__members__.values()
                    else ""
                )
                connection.close(close_code, reason)
            elif action == "drop":
                transport = connection.ws._req.transport if connection.ws._req else None  # noqa: SLF001
                if transport is not None:
                    transport.abort()
            else:
                msg = f"unknown action {action!r}"
                raise ValueError(msg)
        return touched


_FATAL_CODES: Final = frozenset(
    {
        CloseCode.AUTHENTICATION_FAILED,
        CloseCode.INVALID_SHARD,
        CloseCode.SHARDING_REQUIRED,
        CloseCode.INVALID_API_VERSION,
        CloseCode.INVALID_INTENTS,
        CloseCode.DISALLOWED_INTENTS,
        CloseCode.INVALID_SEQ,
    }
)
