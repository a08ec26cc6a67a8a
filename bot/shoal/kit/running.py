"""The features' life in a worker: message taps on the raw dispatch, start and stop hooks.

:class:`FeatureRuntime` owns what the modules declared beyond commands and listeners:

- **message taps** run from the gateway's raw-event seam (``ShardWorkerBot``'s
  ``raw_event_filter``), before hikari parses anything: every MESSAGE_CREATE is read into
  a :class:`~shoal.kit.messages.MessageFacts` once and handed to each tap, only while
  this worker's generation is active (an attribute read). A tap that raises is logged
  (once per tap and error type) and the others still run; the dispatch always goes on
  to hikari, which builds no entity when nobody listens for it;
- **start hooks** are awaited in module order before the shards connect, **stop hooks**
  in reverse order after they closed and before Redis and PostgreSQL are (SIGTERM
  flushes buffers there); each is bounded by ``hook_timeout_s`` and a failing one never
  keeps the others from running.

Background jobs run in :class:`shoal.kit.jobs.JobRunner`, started and stopped here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Final

from shoal.kit.messages import MESSAGE_CREATE, message_facts

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from shoal.interactions.gating import GenerationView
    from shoal.interactions.modules import Module
    from shoal.kit.jobs import JobRunner
    from shoal.kit.messages import MessageFacts

__all__ = ["HOOK_TIMEOUT_S", "FeatureRuntime"]

logger = logging.getLogger(__name__)

HOOK_TIMEOUT_S: Final = 10.0
"""A stop hook gets this long (Kubernetes allows 30 s between SIGTERM and SIGKILL)."""


class FeatureRuntime:
    """Taps, hooks and jobs of the loaded modules (see the module docstring)."""

    __slots__ = ("_failed", "_generation", "_hook_timeout_s", "_jobs", "_modules", "_taps")

    def __init__(
        self,
        modules: Sequence[Module],
        *,
        generation: GenerationView,
        jobs: JobRunner | None = None,
        hook_timeout_s: float = HOOK_TIMEOUT_S,
    ) -> None:
        """Run ``modules``' taps while ``generation`` is active; ``jobs`` runs their jobs."""
        self._modules = tuple(modules)
        self._generation = generation
        self._jobs = jobs
        self._hook_timeout_s = hook_timeout_s
        self._taps: tuple[Callable[[MessageFacts], None], ...] = tuple(
            tap for module in self._modules for tap in module.message_taps
        )
        self._failed: set[tuple[int, type[BaseException]]] = set()

    @property
    def has_taps(self) -> bool:
        """Whether any module taps messages."""
        return bool(self._taps)

    def feed(self, event_name: str, payload: dict[str, Any]) -> bool:
        """The raw-event seam: hand a MESSAGE_CREATE's facts to the taps; always keep it."""
        if self._taps and event_name == MESSAGE_CREATE and self._generation.is_active:
            self._feed(payload)
        return True

    def _feed(self, payload: dict[str, Any]) -> None:
        facts = message_facts(payload)
        if facts is None:
            return
        for index, tap in enumerate(self._taps):
            try:
                tap(facts)
            except Exception as error:  # one tap's bug never stops the others or the shard
                key = (index, type(error))
                if key not in self._failed:
                    self._failed.add(key)
                    logger.exception("message tap %s failed (logged once)", _name_of(tap))

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
