"""The levels hot path: every guild message offered in microseconds, granted in batches.

Owns :class:`LevelsTap`. :meth:`LevelsTap.offer` runs for every MESSAGE_CREATE on the
shard's event loop (a message tap of the feature kit), so it does almost nothing: it drops
messages that can never earn (bots, webhooks, DMs) and those of a member whose cooldown
this process already knows is running, and queues the rest. The in-process cooldown cache
only ever skips what Redis would refuse: it holds the end of a cooldown Redis reported
(granted here, or refused because it was running). A background task drains the queue
every 50 ms, or at once when 500 are queued: it reads each guild's settings and switch
once per batch, keeps one eligible message per member, and sends the grants as ONE
pipeline of Lua grants (`shoal.features.levels.ledger`); each level-up is handed to
``on_level_up`` in a task of its own, so a slow announcement never holds up grants.

Failures stay here: a Redis or PostgreSQL error is logged once (and its recovery once),
and the batch is kept (up to a bound, oldest dropped first) for the next drain; nothing
reaches the caller of :meth:`~LevelsTap.offer`. :meth:`~LevelsTap.stop` drains what is
queued before it returns, so a SIGTERM loses no message that was offered. Does not own
the rules (see `shoal.features.levels.rules`) nor what a level-up does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from shoal.features.levels.ledger import Grant, GrantStatus
from shoal.features.levels.rules import earns_xp, level_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from shoal.features.levels.ledger import GrantResult, XpLedger
    from shoal.features.levels.settings import LevelsSettings
    from shoal.kit.messages import MessageFacts

__all__ = [
    "DRAIN_AT",
    "DRAIN_INTERVAL_S",
    "MAX_COOLING",
    "MAX_QUEUED",
    "LevelUp",
    "LevelsTap",
]

_log = logging.getLogger(__name__)

#: A member's XP lands in Redis at most this late; 20 pipelines a second per worker.
DRAIN_INTERVAL_S: Final = 0.05
#: A burst is drained at once past this many queued messages (one pipeline each).
DRAIN_AT: Final = 500
#: What is kept through a Redis outage (about 10 s of a busy worker's messages); older
#: messages go first, they would mostly be refused as cooling anyway.
MAX_QUEUED: Final = 20_000
#: Members whose cooldown this process remembers (about 60 s of distinct chatters per
#: worker); at ~150 bytes each, 30 MB at most.
MAX_COOLING: Final = 200_000
#: stop() waits this long for level-up callbacks still running.
_CALLBACK_WAIT_S: Final = 5.0


@dataclasses.dataclass(frozen=True, slots=True)
class LevelUp:
    """A member reached a higher level through a message (reported once per grant)."""

    guild_id: int
    channel_id: int
    """Where the message was sent (the announcement's default channel)."""
    user_id: int
    role_ids: tuple[int, ...]
    """The member's roles when they sent it (for `rules.reward_roles`)."""
    old_level: int
    new_level: int
    xp: int
    """The member's XP after the grant."""


class LevelsTap:
    """Turns offered messages into batched XP grants; :meth:`start` and :meth:`stop` it.

    Args:
        ledger: Where grants go.
        settings_of: A guild's levels settings (cached by the caller; called once per
            guild per batch).
        is_enabled: Whether the levels module is on in a guild (same).
        on_level_up: Called with each level-up, in its own task; its errors are logged.
        clock: Unix seconds (the cooldowns are measured on it; tests pass their own).
        drain_interval_s: Time between drains.
        drain_at: Queue length that starts a drain at once.
        max_queued: Most messages kept queued (through an outage).
        max_cooling: Most members whose cooldown is remembered in-process.
        on_granted: Called after each batch with how many of its messages earned XP.
        peek: A guild's switch and settings when held in-process (no I/O), else None:
            asked first, so a batch awaits ``is_enabled`` and ``settings_of`` only for the
            guilds it misses (two awaited reads for each of hundreds of guilds per batch
            were most of the drain's cost).
    """

    __slots__ = (
        "_callbacks",
        "_clock",
        "_cooling",
        "_drain_at",
        "_drain_interval_s",
        "_draining",
        "_dropped",
        "_failing",
        "_is_enabled",
        "_ledger",
        "_max_cooling",
        "_max_queued",
        "_on_granted",
        "_on_level_up",
        "_overflowing",
        "_peek",
        "_queue",
        "_settings_of",
        "_task",
        "_wake",
    )

    def __init__(  # noqa: PLR0913 - the four services, the clock and four tunables
        self,
        ledger: XpLedger,
        settings_of: Callable[[int], Awaitable[LevelsSettings]],
        is_enabled: Callable[[int], Awaitable[bool]],
        on_level_up: Callable[[LevelUp], Awaitable[None]],
        clock: Callable[[], float] = time.time,
        *,
        drain_interval_s: float = DRAIN_INTERVAL_S,
        drain_at: int = DRAIN_AT,
        max_queued: int = MAX_QUEUED,
        max_cooling: int = MAX_COOLING,
        on_granted: Callable[[int], None] | None = None,
        peek: Callable[[int], tuple[bool, LevelsSettings] | None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._peek = peek
        self._on_granted = on_granted
        self._settings_of = settings_of
        self._is_enabled = is_enabled
        self._on_level_up = on_level_up
        self._clock = clock
        self._drain_interval_s = drain_interval_s
        self._drain_at = drain_at
        self._max_queued = max_queued
        self._max_cooling = max_cooling
        self._queue: list[MessageFacts] = []
        # (guild, user) -> unix seconds the cooldown ends; oldest first, so expired ones
        # are popped from the front.
        self._cooling: OrderedDict[tuple[int, int], float] = OrderedDict()
        self._wake = asyncio.Event()
        self._draining = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._callbacks: set[asyncio.Task[None]] = set()
        self._failing: str | None = None
        self._dropped = 0
        self._overflowing = False

    @property
    def queued(self) -> int:
        """Messages waiting for the next drain."""
        return len(self._queue)

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full (Redis down for long)."""
        return self._dropped

    def offer(self, facts: MessageFacts) -> None:
        """Take one message: drop it when it cannot earn now, else queue it. Never raises.

        Costs a dictionary lookup and a clock read: safe on the event loop for every message.
        """
        guild_id = facts.guild_id
        if guild_id is None or facts.is_bot or facts.is_webhook:
            return
        until_s = self._cooling.get((guild_id, facts.author_id))
        if until_s is not None and until_s > self._clock():
            return
        queue = self._queue
        if len(queue) >= self._max_queued:
            self._dropped += 1
            if not self._overflowing:  # once per overload, not once per message
                self._overflowing = True
                _log.warning(
                    "levels: %d messages wait to be granted; new ones earn no XP until the "
                    "queue drains (Redis slow or down, or more messages than this worker can "
                    "grant: add workers); shoal_levels_dropped_messages counts them",
                    len(queue),
                )
            return
        queue.append(facts)
        if len(queue) >= self._drain_at:
            self._wake.set()

    async def start(self) -> None:
        """Start draining in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="levels-tap")

    async def stop(self) -> None:
        """Stop draining after a last drain of everything queued, and the level-up tasks."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._queue and await self.drain():
            pass
        if self._queue:
            _log.warning("levels tap stopped with %d message(s) not granted", len(self._queue))
        if self._callbacks:
            await asyncio.wait(set(self._callbacks), timeout=_CALLBACK_WAIT_S)

    async def drain(self) -> int:
        """Grant what is queued now; return how many messages were handled (0 on failure)."""
        async with self._draining:
            batch, self._queue = self._queue, []
            if not batch:
                return 0
            try:
                await self._grant(batch)
            except Exception as error:  # noqa: BLE001 - any failure: keep the batch, retry later
                self._requeue(batch)
                if self._failing is None:
                    self._failing = type(error).__name__
                    _log.warning(
                        "levels grants failing (%s: %s); %d message(s) kept for a retry",
                        type(error).__name__,
                        error,
                        len(self._queue),
                    )
                return 0
            if self._failing is not None:
                _log.info("levels grants working again (after %s)", self._failing)
                self._failing = None
            if self._overflowing and len(self._queue) < self._max_queued // 2:
                self._overflowing = False
                _log.info("levels: the queue drained; %d messages dropped so far", self._dropped)
            return len(batch)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._drain_interval_s):
                    await self._wake.wait()
            self._wake.clear()
            await self.drain()

    def _requeue(self, batch: list[MessageFacts]) -> None:
        kept = batch + self._queue
        excess = len(kept) - self._max_queued
        if excess > 0:
            self._dropped += excess
            del kept[:excess]
        self._queue = kept

    async def _grant(self, batch: list[MessageFacts]) -> None:
        now_s = self._clock()
        settings = await self._settings_for(batch)
        chosen: dict[tuple[int, int], MessageFacts] = {}
        for facts in batch:
            guild_settings = settings.get(facts.guild_id or 0)
            key = (facts.guild_id or 0, facts.author_id)
            if guild_settings is None or key in chosen or self._is_cooling(key, now_s):
                continue
            if earns_xp(facts, guild_settings):
                chosen[key] = facts
        if not chosen:
            return
        grants = [Grant(guild_id, user_id) for guild_id, user_id in chosen]
        results = await self._ledger.grant_many(grants, now_ms=int(now_s * 1000))
        for facts, result in zip(chosen.values(), results, strict=True):
            self._remember(result, now_s)
            self._report(facts, result)
        if self._on_granted is not None:
            self._on_granted(sum(r.status is GrantStatus.GRANTED for r in results))
        self._prune(now_s)

    async def _settings_for(self, batch: list[MessageFacts]) -> dict[int, LevelsSettings]:
        """Return the settings of the batch's guilds where levels is on."""
        settings: dict[int, LevelsSettings] = {}
        missed: list[int] = []
        peek = self._peek
        for guild_id in dict.fromkeys(facts.guild_id for facts in batch if facts.guild_id):
            held = None if peek is None else peek(guild_id)
            if held is None:
                missed.append(guild_id)
            elif held[0]:
                settings[guild_id] = held[1]
        if missed:
            flags = await asyncio.gather(*(self._is_enabled(g) for g in missed))
            enabled = [g for g, is_on in zip(missed, flags, strict=True) if is_on]
            loaded = await asyncio.gather(*(self._settings_of(g) for g in enabled))
            settings.update(zip(enabled, loaded, strict=True))
        return settings

    def _is_cooling(self, key: tuple[int, int], now_s: float) -> bool:
        until_s = self._cooling.get(key)
        return until_s is not None and until_s > now_s

    def _remember(self, result: GrantResult, now_s: float) -> None:
        if result.status is GrantStatus.GRANTED:
            until_s = now_s + self._ledger.cooldown_ms / 1000
        elif result.cooling_until_ms is not None:
            until_s = result.cooling_until_ms / 1000
        else:
            return
        key = (result.grant.guild_id, result.grant.user_id)
        self._cooling.pop(key, None)  # re-inserted at the end: the order stays by end time
        self._cooling[key] = until_s

    def _prune(self, now_s: float) -> None:
        cooling = self._cooling
        while cooling and (
            len(cooling) > self._max_cooling or next(iter(cooling.values())) <= now_s
        ):
            cooling.popitem(last=False)

    def _report(self, facts: MessageFacts, result: GrantResult) -> None:
        change = result.change
        if change is None:
            return
        old_level, new_level = level_of(change.old_xp), level_of(change.new_xp)
        if new_level <= old_level:
            return
        level_up = LevelUp(
            guild_id=result.grant.guild_id,
            channel_id=facts.channel_id,
            user_id=result.grant.user_id,
            role_ids=facts.role_ids,
            old_level=old_level,
            new_level=new_level,
            xp=change.new_xp,
        )
        task = asyncio.create_task(self._call_back(level_up), name="levels-level-up")
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    async def _call_back(self, level_up: LevelUp) -> None:
        try:
            await self._on_level_up(level_up)
        except Exception:  # noqa: BLE001 - a handler's bug must not stop the grants
            _log.exception(
                "levels level-up handler failed for guild %d user %d",
                level_up.guild_id,
                level_up.user_id,
            )
