"""The features' life in a worker: message taps on the raw dispatch, start and stop hooks.

:class:`FeatureRuntime` owns what the modules declared beyond commands and listeners:

- **message taps** run from the gateway's raw-event seam (``ShardWorkerBot``'s
  ``raw_event_filter``), before hikari parses anything: every MESSAGE_CREATE is read into
  a :class:`~shoal.kit.messages.MessageFacts` once and handed to each tap while this
  worker's generation is active (an attribute read), and for ``handover_s`` after it turned
  passive: each worker rereads the active generation every second, so without that grace
  neither generation would tap for up to a second of a reshard's switch. Both may tap the
  same message in that overlap, so a tap must be idempotent per message or per member
  (levels is: its atomic cooldown refuses the second grant). A tap that raises is logged
  (once per tap and error type) and the others still run; the dispatch always goes on
  to hikari, which builds no entity when nobody listens for it;
- **guild taps** run from the same seam with what each GUILD_CREATE and GUILD_UPDATE says
  of its guild (:class:`~shoal.kit.guilds.GuildSeen`), on every worker of any generation:
  a shard's connect brings thousands of them, too many to parse or to check settings for;
- **start hooks** are awaited in module order before the shards connect, **stop hooks**
  in reverse order after they closed and before Redis and PostgreSQL are (SIGTERM
  flushes buffers there); each is bounded by ``hook_timeout_s`` and a failing one never
  keeps the others from running.

Background jobs run in :class:`shoal.kit.jobs.JobRunner`, started and stopped here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Final

from shoal.interactions.generations import REFRESH_S
from shoal.kit.guilds import GUILD_EVENTS, guild_facts
from shoal.kit.messages import MESSAGE_CREATE, message_facts

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from shoal.interactions.gating import GenerationView
    from shoal.interactions.modules import Module
    from shoal.kit.guilds import GuildSeen
    from shoal.kit.jobs import JobRunner
    from shoal.kit.messages import MessageFacts

__all__ = ["HANDOVER_S", "HOOK_TIMEOUT_S", "FeatureRuntime"]

logger = logging.getLogger(__name__)

HOOK_TIMEOUT_S: Final = 10.0
"""A stop hook gets this long (Kubernetes allows 30 s between SIGTERM and SIGKILL)."""
HANDOVER_S: Final = 2 * REFRESH_S + 0.5
"""How long taps keep running after this generation turned passive: the new generation
has read the switch by then (it rereads every ``REFRESH_S``), with room for a slow read."""


class FeatureRuntime:
    """Taps, hooks and jobs of the loaded modules (see the module docstring)."""

    __slots__ = (
        "_clock",
        "_failed",
        "_generation",
        "_guild_taps",
        "_handover_s",
        "_hook_timeout_s",
        "_jobs",
        "_modules",
        "_passive_since",
        "_taps",
        "_was_active",
    )

    def __init__(
        self,
        modules: Sequence[Module],
        *,
        generation: GenerationView,
        jobs: JobRunner | None = None,
        hook_timeout_s: float = HOOK_TIMEOUT_S,
        handover_s: float = HANDOVER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Run ``modules``' taps while ``generation`` is active (and ``handover_s`` after).

        ``jobs`` runs their jobs; ``clock`` measures the handover (monotonic seconds).
        """
        self._modules = tuple(modules)
        self._generation = generation
        self._jobs = jobs
        self._hook_timeout_s = hook_timeout_s
        self._taps: tuple[Callable[[MessageFacts], None], ...] = tuple(
            tap for module in self._modules for tap in module.message_taps
        )
        self._guild_taps: tuple[Callable[[GuildSeen], None], ...] = tuple(
            tap for module in self._modules for tap in module.guild_taps
        )
        self._failed: set[tuple[object, type[BaseException]]] = set()
        self._handover_s = handover_s
        self._clock = clock
        self._was_active = False
        self._passive_since: float | None = None

    @property
    def has_taps(self) -> bool:
        """Whether any module taps messages."""
        return bool(self._taps)

    def feed(self, event_name: str, payload: dict[str, Any]) -> bool:
        """The raw-event seam: hand a MESSAGE_CREATE's facts to the taps; always keep it."""
        if self._taps and event_name == MESSAGE_CREATE and self._taps_run():
            self._feed(payload)
        elif self._guild_taps and event_name in GUILD_EVENTS:
            self._feed_guild(payload)
        return True

    def _feed_guild(self, payload: dict[str, Any]) -> None:
        seen = guild_facts(payload)
        if seen is None:
            return
        for tap in self._guild_taps:
            try:
                tap(seen)
            except Exception as error:  # noqa: BLE001 - one tap's bug never stops the others
                self._failed_once(tap, error, "guild")

    def _taps_run(self) -> bool:
        """Whether taps run now: while active, and for the handover after turning passive."""
        if self._generation.is_active:
            self._was_active, self._passive_since = True, None
            return True
        if not self._was_active:
            return False
        now = self._clock()
        if self._passive_since is None:
            self._passive_since = now
        if now - self._passive_since < self._handover_s:
            return True
        self._was_active, self._passive_since = False, None
        return False

    def _feed(self, payload: dict[str, Any]) -> None:
        facts = message_facts(payload)
        if facts is None:
            return
        for tap in self._taps:
            try:
                tap(facts)
            except Exception as error:  # noqa: BLE001 - one tap's bug never stops the others
                self._failed_once(tap, error, "message")

    def _failed_once(self, tap: object, error: Exception, kind: str) -> None:
        """Log a tap's failure with its traceback, once per tap and error type."""
        key = (tap, type(error))
        if key not in self._failed:
            self._failed.add(key)
            logger.error("%s tap %s failed (logged once)", kind, _name_of(tap), exc_info=error)

    async def start(self) -> None:
        """Await every module's start hooks, then start the jobs."""
        for module in self._modules:
            for hook in module.on_start:
                await self._bounded(module.name, "start", hook)
        if self._jobs is not None:
            await self._jobs.start()

    async def stop(self) -> None:
        """Stop the jobs (their final runs included), then await the stop hooks in reverse."""
        if self._jobs is not None:
            await self._jobs.stop()
        for module in reversed(self._modules):
            for hook in reversed(module.on_stop):
                await self._bounded(module.name, "stop", hook)

    async def _bounded(self, module: str, when: str, hook: Callable[[], Any]) -> None:
        try:
            await asyncio.wait_for(hook(), self._hook_timeout_s)
        except TimeoutError:
            logger.error(  # noqa: TRY400 - a timeout has no useful traceback
                "%s's %s hook %s did not finish within %.0f s",
                module,
                when,
                _name_of(hook),
                self._hook_timeout_s,
            )
        except Exception:
            logger.exception("%s's %s hook %s failed", module, when, _name_of(hook))


def _name_of(callback: object) -> str:
    return getattr(callback, "__qualname__", None) or repr(callback)
