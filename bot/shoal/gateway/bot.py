"""The worker's hikari bot: one pod's contiguous range of shards, coordinated through Redis.

:class:`ShardWorkerBot` is a ``hikari.GatewayBot`` built from :class:`WorkerSettings` the
way a stateless worker needs it: orjson, no cache, no member chunking, REST keep-alive,
no banner. It replaces hikari's per-process identify pacing (windows of
``max_concurrency`` shards, 5 s apart) with the cluster-wide gate: ``start_worker()``
hands hikari one shard id, and the ``_start_one_shard`` seam starts every local shard at
once as a :class:`CoordinatedShard`, each waiting its own turn. Sessions are saved every
half second and at shutdown. :meth:`ShardWorkerBot.supervise` applies the close-code
policy to shards that die. Does not own the process lifecycle (``running``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Final

import hikari
import orjson
from typing_extensions import override

from shoal.gateway.closing import fatal_close_of
from shoal.gateway.shard import CoordinatedShard, ShardSnapshot
from shoal.planning.closing import CloseAction, action_for_close
from shoal.storage.probing import REDIS_ERRORS, redis_health

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Mapping

    from shoal.config import WorkerSettings
    from shoal.gateway.closing import FatalClose
    from shoal.gateway.counting import RawEventFilter
    from shoal.gateway.identifying import IdentifyGate
    from shoal.gateway.sessions import SessionStore, StoredSession
    from shoal.observability.dependencies import DependencyHealth
    from shoal.observability.shard_status import ShardStatus

__all__ = ["SESSION_FLUSH_INTERVAL_S", "ShardWorkerBot"]

_LOG = logging.getLogger(__name__)

#: Sessions are saved at least this often (the issue asks for every second at most).
SESSION_FLUSH_INTERVAL_S: Final = 0.5
#: Pause before starting again a shard that Discord closed with a non-fatal code hikari
#: gives up on (e.g. 4001, 4003, 4005), so a repeating close cannot spin.
_RELAUNCH_DELAY_S: Final = 1.0


def _dumps(value: object) -> bytes:
    # hikari's JSONEncoder returns bytes, as orjson does; hikari sends int-keyed dicts too.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


@dataclasses.dataclass(frozen=True, slots=True)
class _Presence:
    """What hikari passes to ``_start_one_shard`` besides the shard: reused for restarts."""

    activity: hikari.Activity | None
    afk: bool
    idle_since: dt.datetime | None
    status: hikari.Status
    large_threshold: int
    url: str


class ShardWorkerBot(hikari.GatewayBot):
    """A ``GatewayBot`` running this pod's shards with a shared identify gate and sessions."""

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        sessions: SessionStore,
        gate_for: Callable[[int], IdentifyGate],
        raw_event_filter: RawEventFilter | None = None,
    ) -> None:
        """Build the bot; ``gate_for(max_concurrency)`` makes the gate once it is known.

        ``raw_event_filter`` sees every dispatch of every shard before hikari parses it
        and drops those it returns False for (the composition root's: expired
        interactions).
        """
        super().__init__(
            settings.discord.token,
            rest_url=settings.discord.rest_url,
            intents=hikari.Intents(settings.discord.intents),
            banner=None,
            logs=None,  # logging is configured once for the process (shoal.observability)
            suppress_optimization_warning=True,  # the image decides on -O, not every start
            cache_settings=hikari.impl.CacheSettings(components=hikari.api.CacheComponents.NONE),
            auto_chunk_members=False,
            http_settings=hikari.impl.HTTPSettings(force_close_transports=False),
            dumps=_dumps,
            loads=orjson.loads,
        )
        self._range = settings.sharding.shards
        self._sessions = sessions
        self._gate_for = gate_for
        self._raw_event_filter = raw_event_filter
        self._gate: IdentifyGate | None = None
        self._presence: _Presence | None = None
        self._coordinated: dict[int, CoordinatedShard] = {}
        self._saved: dict[int, StoredSession | None] = {}

    @property
    def shard_ids(self) -> list[int]:
        """The shard ids this worker runs, ascending."""
        return self._range.ids

    @property
    def total_shards(self) -> int:
        """The bot's total shard count."""
        return self._range.total

    async def start_worker(self) -> None:
        """Start every local shard and return once all are READY (or RESUMED)."""
        await self.start(
            shard_ids=[self._range.first],  # the rest start beside it: see _start_one_shard
            shard_count=self._range.total,
            check_for_updates=False,
            # hikari would compare the budget with this process's shards, counting RESUMEs
            # (which cost none); the budget is the fleet's and the gate spends it in order.
            ignore_session_start_limit=True,
        )

    @override
    async def _start_one_shard(
        self,
        *,
        activity: hikari.Activity | None,
        afk: bool,
        idle_since: dt.datetime | None,
        status: hikari.Status,
        large_threshold: int,
        shard_id: int,
        shard_count: int,
        url: str,
    ) -> None:
        if shard_id != self._range.first or shard_count != self._range.total:
            msg = f"shard [{shard_id}, {shard_count}] is not this worker's first shard"
            raise RuntimeError(msg)
        self._presence = _Presence(activity, afk, idle_since, status, large_threshold, url)
        info = await self.rest.fetch_gateway_bot_info()
        self._gate = self._gate_for(info.session_start_limit.max_concurrency)
        launches = [asyncio.create_task(self._launch(s)) for s in self._range.ids]
        try:
            done, _ = await asyncio.wait(launches, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            # One shard failed, or the start was cancelled: stop the others starting.
            for task in launches:
                task.cancel()
            await asyncio.wait(launches)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error

    async def _launch(
        self, shard_id: int, session: StoredSession | None = None, *, is_restored: bool = True
    ) -> CoordinatedShard:
        if self._presence is None or self._gate is None:
            msg = "shards start from _start_one_shard, which sets the presence and the gate"
            raise RuntimeError(msg)
        if is_restored:
            session = await self._sessions.load(shard_id, self._range.total)
            self._saved[shard_id] = session
        shard = CoordinatedShard(
            gate=self._gate,
            session=session,
            event_manager=self._event_manager,
            event_factory=self._event_factory,
            http_settings=self._http_settings,
            proxy_settings=self._proxy_settings,
            intents=self._intents,
            capabilities=self._capabilities,
            dumps=self._dumps,
            loads=self._loads,
            initial_activity=self._presence.activity,
            initial_is_afk=self._presence.afk,
            initial_idle_since=self._presence.idle_since,
            initial_status=self._presence.status,
            large_threshold=self._presence.large_threshold,
            shard_id=shard_id,
            shard_count=self._range.total,
            token=self._token,
            url=self._presence.url,
            raw_event_filter=self._raw_event_filter,
        )
        self._coordinated[shard_id] = shard
        try:
            await shard.start()
        except asyncio.CancelledError:
            await shard.close_resumably()  # start() leaves hikari's keep-alive task running
            raise
        self._shards[shard_id] = shard
        return shard

    async def supervise(self) -> FatalClose | None:
        """Watch the local shards until one closes fatally; start again the others that die.

        Returns the fatal close (the caller stops the worker), or None when every shard
        was closed on purpose. Raises what killed a shard when it was not a gateway close.
        """
        watching = {asyncio.create_task(s.join()): i for i, s in self._coordinated.items()}
        try:
            while watching:
                done, _ = await asyncio.wait(watching, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    shard_id = watching.pop(task)
                    error = None if task.cancelled() else task.exception()
                    if error is None:
                        continue
                    fatal = await self._recover(shard_id, error)
                    if fatal is not None:
                        return fatal
                    watching[asyncio.create_task(self._coordinated[shard_id].join())] = shard_id
            return None
        finally:
            for task in watching:
                task.cancel()

    async def _recover(self, shard_id: int, error: BaseException) -> FatalClose | None:
        """Start a dead shard again as the close-code policy says, until it runs or is fatal."""
        while True:
            self._shards.pop(shard_id, None)
            fatal = fatal_close_of(error, shard_id=shard_id, at=time.time())
            if fatal is not None:
                self._coordinated.pop(shard_id, None)
                await self._sessions.clear(shard_id, self._range.total)
                return fatal
            if not isinstance(error, hikari.GatewayServerClosedConnectionError):
                raise error
            code = error.code if error.code is not None else 0
            is_resumable = action_for_close(code) is CloseAction.RESUME
            session = self._coordinated[shard_id].session if is_resumable else None
            _LOG.warning(
                "shard closed by Discord with code %s; starting it again (%s)",
                code,
                "resume" if session else "identify",
                extra={"shard_id": shard_id},
            )
            await asyncio.sleep(_RELAUNCH_DELAY_S)
            try:
                await self._launch(shard_id, session, is_restored=False)
            except hikari.GatewayServerClosedConnectionError as again:
                error = again
            else:
                return None

    async def flush_sessions(self) -> None:
        """Save the sessions that changed since the last flush (one round trip)."""
        changed = {
            shard_id: shard.session
            for shard_id, shard in self._coordinated.items()
            if shard.session != self._saved.get(shard_id)
        }
        await self._sessions.save(
            self._range.total, {i: s for i, s in changed.items() if s is not None}
        )
        for shard_id in (i for i, s in changed.items() if s is None):
            await self._sessions.clear(shard_id, self._range.total)
        self._saved.update(changed)

    async def keep_sessions_flushed(
        self,
        interval_s: float = SESSION_FLUSH_INTERVAL_S,
        *,
        health: DependencyHealth | None = None,
    ) -> None:
        """Flush sessions every ``interval_s`` until cancelled; a failed flush is retried.

        While ``health`` (Redis's) says Redis is down no flush is tried, and every session
        is written again once it is back: a restarted Redis may have lost them all.
        """
        health = health or redis_health(None)
        while True:
            await asyncio.sleep(interval_s)
            if not health.is_up:
                self._saved.clear()
                continue
            try:
                await self.flush_sessions()
            except REDIS_ERRORS as error:  # Redis may come back: keep the shards running
                health.report_failure(error, operation="session_flush")
                self._saved.clear()
            else:
                health.report_success()

    async def close_for_restart(self) -> None:
        """Close every shard with a resumable code, save the sessions, then close the bot."""
        closing = [s.close_resumably() for s in self._coordinated.values()]
        for outcome in await asyncio.gather(*closing, return_exceptions=True):
            if isinstance(outcome, BaseException):
                _LOG.warning("a shard did not close cleanly", exc_info=outcome)
        try:
            await self.flush_sessions()
        except REDIS_ERRORS as error:  # still close the bot; the next worker identifies
            _LOG.warning(
                "could not save the sessions at shutdown (%s): the next worker on these "
                "shards will IDENTIFY instead of resuming",
                type(error).__name__,
            )
        if self.is_alive:
            await self.close()

    async def close_for_good(self) -> None:
        """Close the bot (its sessions end, 1001) and forget the stored sessions."""
        if self.is_alive:
            await self.close()
        for shard_id in self._range.ids:
            await self._sessions.clear(shard_id, self._range.total)
        self._saved.clear()

    def snapshots(self) -> list[ShardSnapshot]:
        """Return every local shard's state and counters, by ascending shard id."""
        return [
            shard.snapshot()
            if (shard := self._coordinated.get(shard_id)) is not None
            else ShardSnapshot.not_started(shard_id)
            for shard_id in self._range.ids
        ]

    def shard_states(self) -> Mapping[int, ShardStatus]:
        """Return every local shard's state (``shoal.observability``'s ShardStatusSource)."""
        return {snapshot.shard_id: snapshot.status for snapshot in self.snapshots()}
