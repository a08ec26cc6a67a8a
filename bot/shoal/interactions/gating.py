"""Which module listeners run on this worker, event by event, while two generations run.

Every listener a module registers (``Module.listeners``) is wrapped when it is loaded
(:func:`shoal.interactions.modules.load_modules`); no module listener reaches the bot
unwrapped. By the event's type (:func:`gating_of`):

- **interactions** (``hikari.InteractionCreateEvent``: components, modals, anything a
  feature handles by hand) run only on the worker that :meth:`ListenerGate.admit` admits
  (:func:`claimed`): the one that claims the interaction id, or, when Redis cannot be
  asked, every worker of the last known active generation
  (:func:`shoal.planning.generations.is_generation_active`), exactly like slash commands;
- **this process's lifecycle** (started/stopping, a shard connected or ready) runs on every
  worker: it is about this process, not about Discord's data;
- **every other event** runs only while this worker's generation is the active one
  (:func:`when_active`); side effects that must happen once even during a handover also
  claim the event (``EventClaims.claim_event``).

Slash and menu commands are claimed by the command middleware and autocomplete by the
client (``shoal.interactions.client``). Code outside a module that subscribes an
interaction listener itself must wrap it in :func:`claimed`.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

import hikari

from shoal.interactions.claiming import ClaimOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from shoal.interactions.claiming import InteractionClaims
    from shoal.observability.metrics import Metrics

__all__ = [
    "Admission",
    "Callback",
    "Gating",
    "GenerationView",
    "ListenerGate",
    "claimed",
    "gating_of",
    "when_active",
]

Callback: TypeAlias = "Callable[[Any], Coroutine[Any, Any, None]]"
"""hikari's listener shape: called with each event."""

_LIFECYCLE: Final = (
    hikari.StartingEvent,
    hikari.StartedEvent,
    hikari.StoppingEvent,
    hikari.StoppedEvent,
    hikari.ShardStateEvent,  # connected, disconnected, ready, resumed
)


class Gating(enum.Enum):
    """How a listener of one event type is admitted."""

    CLAIM = "claim"
    """Once across every worker: the one that claims the interaction id."""
    ACTIVE = "active"
    """On workers of the active generation only."""
    ALWAYS = "always"
    """On every worker (this process's own lifecycle)."""
    PER_EVENT = "per-event"
    """A broad type (``hikari.Event``) covering several of the above: decided per event."""


def gating_of(event_type: type[Any]) -> Gating:
    """Return how listeners of ``event_type`` (a hikari event class) are admitted."""
    if issubclass(event_type, hikari.InteractionCreateEvent):
        return Gating.CLAIM
    if issubclass(event_type, _LIFECYCLE):
        return Gating.ALWAYS
    if issubclass(hikari.InteractionCreateEvent, event_type) or any(
        issubclass(lifecycle, event_type) for lifecycle in _LIFECYCLE
    ):
        return Gating.PER_EVENT
    return Gating.ACTIVE


class GenerationView(Protocol):
    """Whether this worker's generation is the active one (``ActiveGeneration``)."""

    @property
    def is_active(self) -> bool:
        """True while this worker's generation processes non-interaction events."""
        ...


class Admission(Protocol):
    """Decides whether this worker answers an interaction (:class:`ListenerGate`)."""

    async def admit(self, interaction_id: int) -> bool:
        """Return True when this worker, and no other, answers ``interaction_id``."""
        ...


def claimed(admission: Admission, callback: Callback) -> Callback:
    """Wrap an interaction listener so it runs only where the interaction is admitted."""

    @functools.wraps(callback)
    async def run_if_claimed(event: hikari.InteractionCreateEvent) -> None:
        if await admission.admit(event.interaction.id):
            await callback(event)

    return run_if_claimed


def when_active(view: GenerationView, callback: Callback) -> Callback:
    """Wrap an event listener so it runs only while ``view`` says this generation is active."""

    @functools.wraps(callback)
    async def run_if_active(event: hikari.Event) -> None:
        if view.is_active:  # an attribute read: no I/O on the hot path
            await callback(event)

    return run_if_active


@dataclasses.dataclass(frozen=True, slots=True)
class ListenerGate:
    """The one door of every interaction, and the wrapper of module listeners by event type.

    Commands (the middleware), autocomplete (the client) and interaction listeners all
    ask :meth:`admit`; other listeners are wrapped by :func:`gating_of` their event type.
    """

    claims: InteractionClaims
    """Claims interaction ids (shared by every worker)."""
    generation: GenerationView
    """This worker's view of the active generation."""
    metrics: Metrics | None = None
    """Where interactions decided without a claim are counted."""

    async def admit(self, interaction_id: int) -> bool:
        """Return whether this worker answers ``interaction_id`` (exactly one worker does)."""
        outcome = await self.claims.claim(interaction_id)
        if outcome is ClaimOutcome.WON:
            return True
        if outcome is ClaimOutcome.LOST:
            return False
        # Redis cannot be asked: the last known active generation answers, no other.
        is_answering = self.generation.is_active
        if self.metrics is not None:
            decision = "answered" if is_answering else "left"
            self.metrics.interactions_unclaimed.labels(decision).inc()
        return is_answering

    def wrap(self, event_type: type[Any], callback: Callback) -> Callback:
        """Return ``callback`` wrapped for listening to ``event_type``."""
        gating = gating_of(event_type)
        if gating is Gating.PER_EVENT:
            return self._per_event(callback)
        return self._wrap_for(gating, callback)

    def _wrap_for(self, gating: Gating, callback: Callback) -> Callback:
        if gating is Gating.CLAIM:
            return claimed(self, callback)
        if gating is Gating.ACTIVE:
            return when_active(self.generation, callback)
        return callback

    def _per_event(self, callback: Callback) -> Callback:
        by_type: dict[type[Any], Callback] = {}

        @functools.wraps(callback)
        async def run_if_admitted(event: hikari.Event) -> None:
            event_type = type(event)
            wrapped = by_type.get(event_type)
            if wrapped is None:
                wrapped = by_type[event_type] = self._wrap_for(gating_of(event_type), callback)
            await wrapped(event)

        return run_if_admitted
