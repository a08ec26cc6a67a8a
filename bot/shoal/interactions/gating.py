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

import asyncio
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
    "STANDBY_S",
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

STANDBY_S: Final = 0.25
"""How long a passive generation waits before it claims an interaction: the active one
claims in about a millisecond; Discord's deadline leaves seconds."""
_CLAIM_RETRY_S: Final = 0.05  # between claims of a worker that would answer unclaimed
_AFTER_STANDBY_S: Final = 0.15  # it tries until the standby's claim is surely over

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

    @property
    def answers_unclaimed(self) -> bool:
        """True when this worker answers interactions nobody could claim (Redis down)."""
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
    standby_s: float = STANDBY_S
    """How long a passive worker lets the active generation claim first."""

    async def admit(self, interaction_id: int) -> bool:
        """Return whether this worker answers ``interaction_id`` (exactly one worker does).

        During a reshard every interaction reaches a worker of each generation. The active
        one claims at once; a passive one is its standby: it claims once, ``standby_s``
        later, so it answers when the active one did not (its shard down, or the switch
        in progress) and otherwise loses the claim.

        When Redis cannot be asked, only a worker that :attr:`GenerationView.
        answers_unclaimed` answers, and only after trying the claim again until the
        standby's one attempt is over: Redis dying between the two claims leaves the
        active worker's won claim standing (the standby then finds Redis gone and does not
        answer), and Redis coming back before the standby's claim makes the two race for
        the same key (one wins), so either way there is one answer.
        """
        loop = asyncio.get_running_loop()
        received_s = loop.time()
        if self.standby_s > 0 and not self.generation.is_active:
            await asyncio.sleep(self.standby_s)  # the standby's wait: time passing is the point
            return self._decided(await self.claims.claim(interaction_id), answering=False)
        outcome = await self.claims.claim(interaction_id)
        if outcome is not ClaimOutcome.UNAVAILABLE:  # the hot path: Redis answered
            return outcome is ClaimOutcome.WON
        answering = self.generation.answers_unclaimed
        if answering:
            until_s = received_s + self.standby_s + _AFTER_STANDBY_S
            while outcome is ClaimOutcome.UNAVAILABLE and loop.time() < until_s:
                await asyncio.sleep(_CLAIM_RETRY_S)
                outcome = await self.claims.claim(interaction_id)
        return self._decided(outcome, answering=answering)

    def _decided(self, outcome: ClaimOutcome, *, answering: bool) -> bool:
        if outcome is ClaimOutcome.WON:
            return True
        if outcome is ClaimOutcome.LOST:
            return False
        # Redis cannot be asked: the last known active generation answers, no other (and
        # right after a switch, the old one: see planning.generations.answers_unclaimed).
        if self.metrics is not None:
            decision = "answered" if answering else "left"
            self.metrics.interactions_unclaimed.labels(decision).inc()
        return answering

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
