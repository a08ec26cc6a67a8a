"""The worker's hikari shard: identifies through the cluster-wide gate, resumes across restarts.

:class:`CoordinatedShard` subclasses ``hikari.impl.GatewayShardImpl`` at these private
seams of hikari 2.7 (each covered by ``tests/integration/gateway``):

- ``_connect()`` sends IDENTIFY exactly when ``_seq`` is None (RESUME otherwise): the
  override awaits the :class:`~shoal.gateway.identifying.IdentifyGate` first, which
  gates the first IDENTIFY and every re-identify after op 9 ``d:false`` (hikari clears
  ``_seq`` then). It runs inside hikari's keep-alive task, which it remembers.
- ``_send_json()`` sends every payload: for an IDENTIFY (op 2) the override first tells
  the gate, so the bucket's window runs from the send rather than from READY.
- ``_session_id``, ``_seq`` and ``_resume_gateway_url`` hold the session: restored
  before the first connect so a restarted worker RESUMEs, read to persist it.
- ``_ws.send_close(code=...)`` sends the close frame once (later calls are no-ops):
  closing with a resumable code first keeps ``close()``'s 1001 from ending the session.
- ``start()`` keeps hikari's keep-alive task to itself until READY: ``_connect`` runs in
  it, so it is remembered there and cancelled if ``start()`` is.
- The shard calls only ``consume_raw_event`` and ``dispatch`` on the event manager it is
  given: a :class:`~shoal.gateway.counting.CountingEvents` in front counts guilds, drops
  what the raw-event filter refuses and reports READY, at which point the gate is told
  that Discord has answered the IDENTIFY (:meth:`IdentifyGate.identified`).
- ``_logger`` is the shard's logger: a filter drops hikari's reconnect chatter after a
  resumable close, which is the plan rather than a failure.

Does not own when sessions are saved or what happens after a close code (``bot``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import TYPE_CHECKING, Final, cast

import hikari
from typing_extensions import override

from shoal.gateway.counting import CountingEvents
from shoal.gateway.sessions import StoredSession
from shoal.observability.shard_status import ShardStatus

if TYPE_CHECKING:
    import datetime as dt
    import logging
    from collections.abc import Mapping

    from hikari.api import EventFactory, EventManager
    from hikari.impl import HTTPSettings, ProxySettings
    from hikari.internal.data_binding import JSONDecoder, JSONEncoder, JSONObject

    from shoal.gateway.counting import RawEventFilter
    from shoal.gateway.identifying import IdentifyGate

__all__ = ["RESUMABLE_CLOSE_CODE", "CoordinatedShard", "ShardSnapshot"]

#: Any close code but 1000/1001 leaves the session resumable; hikari's own resumable
#: close uses 3000 too.
RESUMABLE_CLOSE_CODE: Final = 3_000
#: The gateway opcode of IDENTIFY.
_IDENTIFY_OP: Final = 2


@dataclasses.dataclass(frozen=True, slots=True)
class ShardSnapshot:
    """One local shard at a moment, for health, metrics and the registry."""

    shard_id: int
    """The shard id."""
    status: ShardStatus
    """Where the shard is in its life."""
    latency_s: float
    """Last heartbeat round trip in seconds; NaN before the first ACK."""
    guild_count: int
    """Guilds of the shard's session (READY's list plus joins minus leaves)."""
    identifies: int
    """IDENTIFYs this worker sent for the shard."""
    resumes: int
    """RESUMEs this worker sent for the shard."""
    closes: Mapping[int, int]
    """Close codes Discord ended this shard's connections with, and how often."""
    dispatches: Mapping[str, int]
    """Dispatches received, by event name."""

    @classmethod
    def not_started(cls, shard_id: int) -> ShardSnapshot:
        """Return the snapshot of a local shard that has no hikari shard yet."""
        return cls(shard_id, ShardStatus.CONNECTING, math.nan, 0, 0, 0, {}, {})


#: What hikari logs after our resumable close ends its read loop ("Socket has closed") and
#: before close() stops its reconnect: on a restart both are the plan, not news.
_EXPECTED_ON_RESTART: Final = ("failed to communicate with server", "backing off reconnecting")


def _without_expected_disconnect(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(_EXPECTED_ON_RESTART)


class CoordinatedShard(hikari.impl.GatewayShardImpl):
    """A hikari shard that identifies through a shared gate and resumes stored sessions."""

    __slots__ = (
        "_background",
        "_closes",
        "_counting",
        "_gate",
        "_has_been_ready",
        "_identifies",
        "_is_closed",
        "_is_connecting",
        "_is_restarting",
        "_keep_alive_runner",
        "_resumes",
    )

    def __init__(  # noqa: PLR0913 - mirrors GatewayShardImpl's constructor, so mypy checks it
        self,
        *,
        gate: IdentifyGate,
        session: StoredSession | None,
        event_manager: EventManager,
        event_factory: EventFactory,
        http_settings: HTTPSettings,
        proxy_settings: ProxySettings,
        intents: hikari.Intents,
        capabilities: hikari.GatewayCapabilities,
        dumps: JSONEncoder,
        loads: JSONDecoder,
        initial_activity: hikari.Activity | None,
        initial_is_afk: bool,
        initial_idle_since: dt.datetime | None,
        initial_status: hikari.Status,
        large_threshold: int,
        shard_id: int,
        shard_count: int,
        token: str,
        url: str,
        raw_event_filter: RawEventFilter | None = None,
    ) -> None:
        """Build the shard; ``session``, when given, is RESUMEd on the first connect.

        ``raw_event_filter`` drops the dispatches it returns False for, before hikari
        parses them.
        """
        self._counting = CountingEvents(
            event_manager, keep=raw_event_filter, on_ready=self._on_ready
        )
        super().__init__(
            event_manager=cast("EventManager", self._counting),
            event_factory=event_factory,
            http_settings=http_settings,
            proxy_settings=proxy_settings,
            intents=intents,
            capabilities=capabilities,
            dumps=dumps,
            loads=loads,
            initial_activity=initial_activity,
            initial_is_afk=initial_is_afk,
            initial_idle_since=initial_idle_since,
            initial_status=initial_status,
            large_threshold=large_threshold,
            shard_id=shard_id,
            shard_count=shard_count,
            token=token,
            url=url,
        )
        self._gate = gate
        self._identifies = 0
        self._resumes = 0
        self._is_closed = False
        self._is_restarting = False
        self._is_connecting = False
        self._has_been_ready = False
        self._closes: dict[int, int] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._keep_alive_runner: asyncio.Task[object] | None = None
        """hikari's keep-alive task (``_connect`` runs in it); ``start()`` keeps it local."""
        if session is not None:
            self._session_id = session.session_id
            self._seq = session.seq
            self._resume_gateway_url = session.resume_gateway_url

    @property
    def session(self) -> StoredSession | None:
        """The session to RESUME now, or None when the next connect will IDENTIFY."""
        if self._session_id is None or self._seq is None or self._resume_gateway_url is None:
            return None
        return StoredSession(self._session_id, self._seq, self._resume_gateway_url)

    @property
    def status(self) -> ShardStatus:
        """Where the shard is in its life."""
        if self._is_closed:
            return ShardStatus.STOPPED
        if self.is_connected:
            return ShardStatus.READY
        if self._is_connecting:
            return ShardStatus.RESUMING if self._seq is not None else ShardStatus.CONNECTING
        return ShardStatus.DISCONNECTED if self._has_been_ready else ShardStatus.CONNECTING

    def snapshot(self) -> ShardSnapshot:
        """Return the shard's state and counters now."""
        return ShardSnapshot(
            shard_id=self.id,
            status=self.status,
            latency_s=self.heartbeat_latency,
            guild_count=self._counting.guild_count,
            identifies=self._identifies,
            resumes=self._resumes,
            closes=dict(self._closes),
            dispatches=dict(self._counting.dispatches),
        )

    @override
    async def _connect(self) -> tuple[asyncio.Task[None], ...]:
        self._keep_alive_runner = asyncio.current_task()
        if self._is_restarting:
            # Closing for a restart: never reconnect; close_resumably() cancels this wait.
            await asyncio.get_running_loop().create_future()
        self._is_connecting = True
        try:
            tasks = await (self._resume() if self._seq is not None else self._identify())
        except hikari.GatewayServerClosedConnectionError as error:
            self._count_close_code(error.code)  # closed during the handshake
            raise
        finally:
            self._is_connecting = False
        self._has_been_ready = self._has_been_ready or self.is_connected
        for task in tasks:
            task.add_done_callback(self._count_close)
        return tasks

    async def _resume(self) -> tuple[asyncio.Task[None], ...]:
        self._resumes += 1
        return await super()._connect()

    async def _identify(self) -> tuple[asyncio.Task[None], ...]:
        await self._gate.wait_turn(self.id)
        self._identifies += 1
        return await super()._connect()

    @override
    async def _send_json(self, data: JSONObject, *, priority: bool = False) -> None:
        if data.get("op") == _IDENTIFY_OP:
            # The bucket's window runs from the send, not from READY (which takes longer
            # the more guilds a shard has): see RedisIdentifyGate.identifying.
            await self._gate.identifying(self.id)
        await super()._send_json(data, priority=priority)

    def _on_ready(self) -> None:
        # READY answers an IDENTIFY: Discord has received it by now, so the bucket's
        # window may safely run from here (it may have arrived later than it was sent).
        task = asyncio.get_running_loop().create_task(
            self._gate.identified(self.id), name=f"identified {self.id}"
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _count_close(self, task: asyncio.Task[None]) -> None:
        # A lifetime task ends with Discord's close code when Discord closes the connection.
        if not task.cancelled():
            error = task.exception()
            if isinstance(error, hikari.GatewayServerClosedConnectionError):
                self._count_close_code(error.code)

    def _count_close_code(self, code: int | None) -> None:
        if code is not None:
            self._closes[code] = self._closes.get(code, 0) + 1

    async def close_resumably(self) -> None:
        """Close the connection with a resumable code so another process can RESUME.

        Works on a started shard and on one still starting (whose ``start()`` the caller
        cancelled): hikari's keep-alive task is stopped either way.
        """
        self._is_restarting = True
        self._is_closed = True
        self._logger.addFilter(_without_expected_disconnect)
        ws = self._ws
        if ws is not None:
            await ws.send_close(code=RESUMABLE_CLOSE_CODE, message=b"worker restarting")
        if self.is_alive:
            await self.close()
            return
        runner = self._keep_alive_runner
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.wait([runner])

    @override
    async def close(self) -> None:
        self._is_closed = True
        await super().close()
