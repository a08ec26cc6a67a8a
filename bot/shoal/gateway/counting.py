"""A shard's raw dispatches: counted, filtered and watched for READY, with no parsing.

hikari hands every dispatch of a shard to its event manager's ``consume_raw_event``
before anything is parsed. :class:`CountingEvents` stands between one shard and the
bot's event manager: a dict increment and a set lookup per dispatch, and for READY,
GUILD_CREATE and GUILD_DELETE the pure rule :func:`shoal.planning.guilds.guild_count_after`.
Then a :data:`RawEventFilter` given by the composition root may drop the dispatch before
hikari builds anything from it (expired interactions), and READY is reported to the
shard's ``on_ready`` (the identify gate learns when Discord has answered an IDENTIFY).
Does not own what the counts are used for (``shoal.gateway.registry``, metrics) nor what
a filter keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, TypeAlias

from shoal.planning.guilds import GUILD_COUNT_EVENTS, guild_count_after

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    import hikari
    from hikari.api import EventManager

__all__ = ["CountingEvents", "RawEventFilter"]

_READY: Final = "READY"

RawEventFilter: TypeAlias = "Callable[[str, dict[str, Any]], bool]"
"""Called with each dispatch's name and raw payload; False drops the dispatch."""


class CountingEvents:
    """One shard's view of the bot's event manager, counting dispatches and guilds.

    hikari's shard calls only ``consume_raw_event`` and ``dispatch`` on its event
    manager (``hikari/impl/shard.py``); anything else is passed through unchanged.
    """

    __slots__ = ("_events", "_keep", "_on_ready", "dispatches", "guild_count")

    def __init__(
        self,
        events: EventManager,
        *,
        keep: RawEventFilter | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        """Wrap the bot's event manager ``events``.

        ``keep`` drops the dispatches it returns False for; ``on_ready`` is called when
        READY arrives (before hikari parses it).
        """
        self._events = events
        self._keep = keep
        self._on_ready = on_ready
        self.guild_count = 0
        """Guilds of the shard's session: READY's list, plus joins, minus leaves."""
        self.dispatches: dict[str, int] = {}
        """Dispatches received, by event name (e.g. ``MESSAGE_CREATE``)."""

    def consume_raw_event(
        self, event_name: str, shard: hikari.api.GatewayShard, payload: dict[str, Any]
    ) -> None:
        """Count the dispatch (and guilds), then hand it to the bot's event manager."""
        self.dispatches[event_name] = self.dispatches.get(event_name, 0) + 1
        if event_name in GUILD_COUNT_EVENTS:
            self.guild_count = guild_count_after(self.guild_count, event_name, payload)
            if event_name == _READY and self._on_ready is not None:
                self._on_ready()
        if self._keep is not None and not self._keep(event_name, payload):
            return
        self._events.consume_raw_event(event_name, shard, payload)

    def dispatch(
        self, event: hikari.Event, *, return_tasks: bool = False
    ) -> asyncio.Future[Any] | None:
        """Dispatch ``event`` through the bot's event manager."""
        return self._events.dispatch(event, return_tasks=return_tasks)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - whatever the event manager has
        """Pass anything else through to the bot's event manager."""
        return getattr(self._events, name)
