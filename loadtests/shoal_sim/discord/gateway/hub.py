"""The gateway hub: every session of every application, and what reaches them.

Owns the sessions and connections, their lifecycle (the resume-window sweeper, what a
closed connection ends) and dispatch routing: REST handlers, the control API and the load
generator call :meth:`Gateway.dispatch_guild` and friends to emit events. Connections
(:mod:`.connection`) hand commands here; what a command means lives elsewhere:
:mod:`.handshaking` (IDENTIFY, RESUME, READY), :mod:`.voicing` (op 4), :mod:`.chunking`
(op 8) and :mod:`.forcing` (the control API's forced trouble).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any, Final

import orjson

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.gateway import forcing, voicing
from shoal_sim.discord.gateway.chunking import MemberRequests
from shoal_sim.discord.gateway.closing import CloseCode
from shoal_sim.discord.gateway.connection import SESSION_ENDING_CLIENT_CODES
from shoal_sim.discord.gateway.handshaking import Handshakes
from shoal_sim.discord.gateway.sessions import Session, SessionIndex

if TYPE_CHECKING:
    from shoal_sim.discord.gateway.connection import Connection
    from shoal_sim.discord.settings import SimSettings
    from shoal_sim.discord.stats import SimStats
    from shoal_sim.discord.world import World

__all__ = ["Gateway"]

_OP_INVALID_SESSION: Final = 9


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
        self._handshakes = Handshakes(self)
        self._member_requests = MemberRequests(self)
        self._sweeper: asyncio.Task[None] | None = None

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
        self._handshakes.cancel_streams()
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

    def close_session(self, session: Session, code: CloseCode) -> None:
        """Close the session's connection, if it has one, with ``code``."""
        if session.connection is not None:
            session.connection.close(code, code.reason)

    def invalidate_session(
        self, connection: Connection, reason: str, *, is_resumable: bool = False
    ) -> None:
        """Send op 9 on ``connection`` and count it under ``reason``."""
        self.stats.invalid_sessions += 1
        self.stats.invalid_sessions_by_reason[reason] += 1
        connection.send_op(_OP_INVALID_SESSION, is_resumable)

    # -- commands (what each means lives in its own module) ---------------------------

    def identify(self, connection: Connection, data: Any) -> None:  # noqa: ANN401 - raw JSON
        """Answer an IDENTIFY: READY and GUILD_CREATEs, op 9, or a close."""
        self._handshakes.identify(connection, data)

    def resume(self, connection: Connection, data: Any) -> None:  # noqa: ANN401 - raw JSON
        """Answer a RESUME: replay what was missed then RESUMED, or op 9 / a close."""
        self._handshakes.resume(connection, data)

    def voice_state_update(self, session: Session, data: Any) -> None:  # noqa: ANN401
        """Answer op 4: the bot's VOICE_STATE_UPDATE, and VOICE_SERVER_UPDATE on this shard."""
        voicing.update_voice_state(self, session, data)

    def request_guild_members(self, session: Session, data: Any) -> None:  # noqa: ANN401
        """Answer op 8 with GUILD_MEMBERS_CHUNKs, or RATE_LIMITED (1 per guild per 30 s)."""
        self._member_requests.answer(session, data)

    def force(self, sessions: list[Session], action: str, *, code: int | None = None) -> int:
        """Apply a control action to sessions; returns how many were connected.

        See :func:`.forcing.force` for the actions.
        """
        return forcing.force(self, sessions, action, code=code)

    # -- dispatching ---------------------------------------------------------------------

    def emit(self, session: Session, event: bytes, body: bytes) -> None:
        """Dispatch one encoded event to one session and count it."""
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
