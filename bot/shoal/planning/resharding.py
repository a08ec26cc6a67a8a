"""The blue/green reshard: a pure state machine from one shard count to another.

Generation N runs K shards; to reshard, generation N + 1 starts with K' shards beside it,
the active-generation key switches to N + 1 once all its shards are READY (see
:mod:`shoal.planning.generations`), then generation N is removed. :func:`step_reshard`
takes the persisted :class:`ReshardState` and what the operator observes, and returns the
next state, the actions to carry out in order, and the events to record.
:func:`orphaned_generations` names the shard sets no state keeps (left by a crash between
creating a generation and saving the state that targets it).

Restart-safe: the operator saves the state in the custom resource's status *after*
carrying out the actions and may crash in between. Every action says what should exist
("run this generation with this count"), not what to change, so replaying a step from
the old state repeats harmless actions and converges to the same state.

Does not own the shard count (:mod:`shoal.planning.sharding`), how a generation is run
(the operator's StatefulSets) or how the key is written.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable, Mapping
from typing import Final, TypeAlias

__all__ = [
    "ActivateGeneration",
    "RemoveGeneration",
    "ReshardAction",
    "ReshardEvent",
    "ReshardObservation",
    "ReshardPhase",
    "ReshardState",
    "ReshardStep",
    "RunGeneration",
    "orphaned_generations",
    "session_starts_needed",
    "step_reshard",
]

#: Session starts kept in reserve beyond one per shard: shards that lose their session
#: (op 9, a pod restart) re-identify while the new generation boots.
_SESSION_START_RESERVE: Final = 0.1


class ReshardPhase(enum.StrEnum):
    """Where a reshard stands."""

    STEADY = "Steady"
    """One generation runs; no reshard is under way."""
    STARTING = "Starting"
    """The target generation runs beside the active one and is becoming READY."""
    SWITCHING = "Switching"
    """The target generation is active; the old one is about to be removed."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReshardState:
    """What the operator persists between steps (the custom resource's status).

    Outside STEADY, ``target_generation`` and ``target_shards`` are set.
    """

    phase: ReshardPhase = ReshardPhase.STEADY
    """Where the reshard stands."""
    active_generation: int = 0
    """The generation that processes events (the value of the active-generation key)."""
    active_shards: int = 0
    """The active generation's shard count; 0 when nothing is deployed yet."""
    target_generation: int | None = None
    """The generation being started; None in STEADY."""
    target_shards: int | None = None
    """The target generation's shard count; None in STEADY."""
    started_at: float | None = None
    """The unix time the running reshard began; None in STEADY."""
    last_reshard_at: float | None = None
    """The unix time the last reshard completed; None if never."""

    def __post_init__(self) -> None:
        """Reject states no step can produce.

        Raises:
            ValueError: naming the bad field.
        """
        for name in ("active_generation", "active_shards", "target_generation", "target_shards"):
            value = getattr(self, name)
            if value is not None and value < 0:
                msg = f"{name} must not be negative, got {value}"
                raise ValueError(msg)
        if self.phase is not ReshardPhase.STEADY:
            if self.target_generation is None or not self.target_shards:
                msg = f"target_generation and target_shards must be set in phase {self.phase}"
                raise ValueError(msg)
            if self.target_generation == self.active_generation:
                msg = "target_generation must differ from active_generation"
                raise ValueError(msg)

    def to_status(self) -> dict[str, object]:
        """Return the state as the custom resource's status fields (camelCase, no None)."""
        fields: dict[str, object] = {
            "phase": str(self.phase),
            "activeGeneration": self.active_generation,
            "activeShards": self.active_shards,
            "targetGeneration": self.target_generation,
            "targetShards": self.target_shards,
            "startedAt": self.started_at,
            "lastReshardAt": self.last_reshard_at,
        }
        return {key: value for key, value in fields.items() if value is not None}

    @classmethod
    def from_status(cls, raw: object) -> ReshardState:
        """Return the state saved by :meth:`to_status` (None or empty: nothing saved yet).

        Keys it does not know are ignored (the status holds other fields too).

        Raises:
            ValueError: naming the malformed field.
        """
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            msg = f"the reshard status must be a mapping, got {type(raw).__name__}"
            # ValueError like every other malformed field: callers catch one exception.
            raise ValueError(msg)  # noqa: TRY004
        phase_raw = raw.get("phase", ReshardPhase.STEADY.value)
        if phase_raw not in {phase.value for phase in ReshardPhase}:
            msg = f"phase must be one of {[p.value for p in ReshardPhase]}, got {phase_raw!r}"
            raise ValueError(msg)
        return cls(
            phase=ReshardPhase(phase_raw),
            active_generation=_count_field(raw, "activeGeneration") or 0,
            active_shards=_count_field(raw, "activeShards") or 0,
            target_generation=_count_field(raw, "targetGeneration"),
            target_shards=_count_field(raw, "targetShards"),
            started_at=_time_field(raw, "startedAt"),
            last_reshard_at=_time_field(raw, "lastReshardAt"),
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReshardObservation:
    """What the operator sees at the start of a step."""

    desired_shards: int
    """The count to run: from :func:`shoal.planning.sharding.decide_shard_count` or a Fixed spec."""
    ready_shards: Mapping[int, int]
    """Generation -> how many of its shards are READY in the registry."""
    session_starts_remaining: int | None
    """Session starts left today (``GET /gateway/bot``); None when unknown."""
    now: float
    """The current unix time."""

    def __post_init__(self) -> None:
        """Reject observations no step can act on.

        Raises:
            ValueError: naming the bad field.
        """
        if self.desired_shards < 1:
            msg = f"desired_shards must be at least 1, got {self.desired_shards}"
            raise ValueError(msg)
        if self.session_starts_remaining is not None and self.session_starts_remaining < 0:
            remaining = self.session_starts_remaining
            msg = f"session_starts_remaining must not be negative, got {remaining}"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class RunGeneration:
    """Ensure the shard set of ``generation`` exists and runs ``shards`` shards."""

    generation: int
    """The generation to run."""
    shards: int
    """Its shard count."""


@dataclasses.dataclass(frozen=True, slots=True)
class ActivateGeneration:
    """Set the active-generation key to ``generation``."""

    generation: int
    """The generation whose workers process events from now on."""


@dataclasses.dataclass(frozen=True, slots=True)
class RemoveGeneration:
    """Delete the shard set of ``generation`` (nothing to do when it is already gone)."""

    generation: int
    """The generation to remove."""


ReshardAction: TypeAlias = RunGeneration | ActivateGeneration | RemoveGeneration
"""One idempotent thing for the operator to do."""


@dataclasses.dataclass(frozen=True, slots=True)
class ReshardEvent:
    """Something worth a Kubernetes Event on the custom resource."""

    reason: str
    """CamelCase, e.g. ReshardStarted."""
    message: str
    """One human sentence with the figures."""
    is_warning: bool = False
    """A Warning event rather than a Normal one."""


@dataclasses.dataclass(frozen=True, slots=True)
class ReshardStep:
    """What one step decided."""

    state: ReshardState
    """The state to persist once the actions are done."""
    actions: tuple[ReshardAction, ...]
    """To carry out in order."""
    events: tuple[ReshardEvent, ...]
    """To record."""
    blocked_reason: str | None = None
    """CamelCase, e.g. InsufficientSessionStarts: why the step cannot go on (a Degraded
    condition); None when it is not blocked."""
    blocked_message: str | None = None
    """One human sentence with the figures; None when not blocked."""


def session_starts_needed(shards: int) -> int:
    """Return the session starts to keep before starting ``shards`` shards.

    One per shard plus a reserve of 10 % (at least 1) for re-identifies.

    Raises:
        ValueError: when ``shards`` is negative.
    """
    if shards < 0:
        msg = f"shards must not be negative, got {shards}"
        raise ValueError(msg)
    return shards + max(1, math.ceil(shards * _SESSION_START_RESERVE))


def step_reshard(state: ReshardState, observation: ReshardObservation) -> ReshardStep:
    """Return the next step of the reshard from ``state`` given ``observation``."""
    if state.phase is ReshardPhase.STARTING:
        return _step_starting(state, observation)
    if state.phase is ReshardPhase.SWITCHING:
        return _step_switching(state, observation)
    return _step_steady(state, observation)


def _step_steady(state: ReshardState, observation: ReshardObservation) -> ReshardStep:
    """Deploy, keep, or start a reshard (unless the session starts would run out)."""
    desired = observation.desired_shards
    generation = state.active_generation
    keep_active = _keep_active(state)
    if state.active_shards and desired == state.active_shards:
        return ReshardStep(state, keep_active, ())
    blocked = _session_starts_block(desired, observation.session_starts_remaining)
    if blocked is not None:
        reason, message = blocked
        actions = keep_active if state.active_shards else ()
        event = ReshardEvent(reason, message, is_warning=True)
        return ReshardStep(state, actions, (event,), reason, message)
    if not state.active_shards:
        message = f"deploying {desired:,} shards (generation {generation})"
        return ReshardStep(
            dataclasses.replace(state, active_shards=desired),
            (RunGeneration(generation, desired), ActivateGeneration(generation)),
            (ReshardEvent("ShardsPlanned", message),),
        )
    target = generation + 1
    message = (
        f"resharding from {state.active_shards:,} to {desired:,} shards "
        f"(generation {generation} -> {target})"
    )
    return ReshardStep(
        dataclasses.replace(
            state,
            phase=ReshardPhase.STARTING,
            target_generation=target,
            target_shards=desired,
            started_at=observation.now,
        ),
        (*keep_active, RunGeneration(target, desired)),
        (ReshardEvent("ReshardStarted", message),),
    )


def _step_starting(state: ReshardState, observation: ReshardObservation) -> ReshardStep:
    """Abort when the plan moved, switch once the target is READY, else wait."""
    target, target_shards = _target_of(state)
    desired = observation.desired_shards
    keep_active = _keep_active(state)
    run_target = RunGeneration(target, target_shards)
    # The spec or the totals went back, or the plan moved again: start over from STEADY.
    if desired == state.active_shards or desired != target_shards:
        message = (
            f"abandoned the reshard to {target_shards:,} shards (generation {target}): "
            f"the plan now asks for {desired:,}"
        )
        return ReshardStep(
            _steady(state),
            (*keep_active, RemoveGeneration(target)),
            (ReshardEvent("ReshardAborted", message),),
        )
    if observation.ready_shards.get(target, 0) >= target_shards:
        message = (
            f"all {target_shards:,} shards of generation {target} are READY: "
            f"generation {target} is now active"
        )
        return ReshardStep(
            dataclasses.replace(state, phase=ReshardPhase.SWITCHING),
            (keep_active[0], run_target, ActivateGeneration(target)),
            (ReshardEvent("ActiveGenerationSwitched", message),),
        )
    return ReshardStep(state, (*keep_active, run_target), ())


def _step_switching(state: ReshardState, observation: ReshardObservation) -> ReshardStep:
    """Remove the old generation and settle on the target (no abort once switched)."""
    target, target_shards = _target_of(state)
    took = "" if state.started_at is None else f" in {observation.now - state.started_at:,.0f} s"
    message = (
        f"resharded from {state.active_shards:,} to {target_shards:,} shards{took}: "
        f"generation {state.active_generation} removed"
    )
    done = dataclasses.replace(
        _steady(state),
        active_generation=target,
        active_shards=target_shards,
        last_reshard_at=observation.now,
    )
    return ReshardStep(
        done,
        (
            RunGeneration(target, target_shards),
            ActivateGeneration(target),
            RemoveGeneration(state.active_generation),
        ),
        (ReshardEvent("ReshardCompleted", message),),
    )


def orphaned_generations(existing: Iterable[int], state: ReshardState) -> frozenset[int]:
    """Return the generations in ``existing`` that ``state`` neither runs nor starts.

    ``existing`` is what runs in the cluster; ``state`` is the state about to be saved
    (after the step's actions). The active generation and, outside STEADY, the target are
    never returned, whatever the phase: STARTING and SWITCHING keep both. The generation a
    completed or abandoned reshard removes is no longer in the new state, so it may be
    returned as well; removing it again is harmless (the removal is idempotent).
    """
    kept = {state.active_generation}
    if state.target_generation is not None:
        kept.add(state.target_generation)
    return frozenset(existing) - kept


def _keep_active(state: ReshardState) -> tuple[RunGeneration, ActivateGeneration]:
    """Return the actions that keep the active generation running and active."""
    generation = state.active_generation
    return RunGeneration(generation, state.active_shards), ActivateGeneration(generation)


def _steady(state: ReshardState) -> ReshardState:
    """Return ``state`` in STEADY with the target cleared."""
    return dataclasses.replace(
        state,
        phase=ReshardPhase.STEADY,
        target_generation=None,
        target_shards=None,
        started_at=None,
    )


def _target_of(state: ReshardState) -> tuple[int, int]:
    """Return the target generation and shard count (set outside STEADY)."""
    if state.target_generation is None or state.target_shards is None:  # pragma: no cover
        msg = f"phase {state.phase} needs a target"  # __post_init__ already refuses this
        raise ValueError(msg)
    return state.target_generation, state.target_shards


def _session_starts_block(shards: int, remaining: int | None) -> tuple[str, str] | None:
    """Return why ``shards`` cannot start with ``remaining`` session starts, None if they can."""
    needed = session_starts_needed(shards)
    if remaining is None or remaining >= needed:
        return None
    return "InsufficientSessionStarts", (
        f"starting {shards:,} shards needs {needed:,} session starts "
        f"but only {remaining:,} remain until Discord resets the limit"
    )


def _count_field(raw: Mapping[object, object], key: str) -> int | None:
    """Return the non-negative integer at ``key`` (None when absent)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{key} must be a non-negative integer, got {value!r}"
        raise ValueError(msg)
    return value


def _time_field(raw: Mapping[object, object], key: str) -> float | None:
    """Return the unix time at ``key`` (None when absent)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{key} must be a finite unix time, got {value!r}"
        raise ValueError(msg)
    return float(value)
