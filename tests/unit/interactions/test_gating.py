"""Which module listeners run: gating by event type, claims and the active generation."""

from __future__ import annotations

import asyncio
import dataclasses
import types
from typing import Any

import hikari
import pytest

from shoal.interactions.claiming import ClaimOutcome
from shoal.interactions.gating import Gating, ListenerGate, claimed, gating_of, when_active
from shoal.observability.metrics import Metrics


@dataclasses.dataclass
class _View:
    is_active: bool

    @property
    def answers_unclaimed(self) -> bool:
        return self.is_active


class _Claims:
    """Wins each interaction id once, like the Redis claims."""

    def __init__(self) -> None:
        self.claimed: set[int] = set()

    async def claim(self, interaction_id: int) -> ClaimOutcome:
        if interaction_id in self.claimed:
            return ClaimOutcome.LOST
        self.claimed.add(interaction_id)
        return ClaimOutcome.WON


class _Unreachable:
    """Claims with Redis down: nobody can claim anything."""

    async def claim(self, interaction_id: int) -> ClaimOutcome:
        assert interaction_id
        return ClaimOutcome.UNAVAILABLE


def _interaction_event(interaction_id: int) -> Any:  # noqa: ANN401 - a stand-in event
    """An InteractionCreateEvent carrying only what the gate reads."""
    return hikari.InteractionCreateEvent(
        shard=None,  # type: ignore[arg-type]
        interaction=types.SimpleNamespace(id=interaction_id),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        (hikari.InteractionCreateEvent, Gating.CLAIM),
        (hikari.GuildMessageCreateEvent, Gating.ACTIVE),
        (hikari.MessageCreateEvent, Gating.ACTIVE),
        (hikari.MemberCreateEvent, Gating.ACTIVE),
        (hikari.ShardPayloadEvent, Gating.ACTIVE),  # a raw Discord dispatch
        (hikari.StartedEvent, Gating.ALWAYS),
        (hikari.ShardReadyEvent, Gating.ALWAYS),
        (hikari.Event, Gating.PER_EVENT),
        (hikari.ShardEvent, Gating.PER_EVENT),
    ],
)
def test_gating_of_admits_by_event_type_when_asked(
    event_type: type[hikari.Event], expected: Gating
) -> None:
    assert gating_of(event_type) is expected


async def test_when_active_runs_the_listener_only_while_the_view_says_so() -> None:
    seen: list[object] = []

    async def listener(event: object) -> None:
        seen.append(event)

    view = _View(is_active=False)
    wrapped = when_active(view, listener)
    await wrapped("first")
    view.is_active = True
    await wrapped("second")
    assert seen == ["second"]


async def test_claimed_runs_the_listener_once_when_two_workers_get_the_interaction() -> None:
    seen: list[int] = []

    async def listener(event: hikari.InteractionCreateEvent) -> None:
        seen.append(int(event.interaction.id))

    claims = _Claims()  # shared, like Redis
    old = claimed(ListenerGate(claims=claims, generation=_View(is_active=True)), listener)
    new = claimed(ListenerGate(claims=claims, generation=_View(is_active=False)), listener)
    for interaction_id in (1, 2, 3):
        await old(_interaction_event(interaction_id))
        await new(_interaction_event(interaction_id))
    assert seen == [1, 2, 3]


async def test_listener_gate_claims_interactions_even_when_the_generation_is_passive() -> None:
    seen: list[object] = []

    async def listener(event: object) -> None:
        seen.append(event)

    gate = ListenerGate(claims=_Claims(), generation=_View(is_active=False))
    on_interaction = gate.wrap(hikari.InteractionCreateEvent, listener)
    on_message = gate.wrap(hikari.GuildMessageCreateEvent, listener)
    interaction = _interaction_event(7)
    await on_interaction(interaction)
    await on_message("a message")
    assert seen == [interaction]


async def test_listener_gate_decides_per_event_when_the_type_is_broad() -> None:
    seen: list[object] = []

    async def listener(event: object) -> None:
        seen.append(event)

    gate = ListenerGate(claims=_Claims(), generation=_View(is_active=False))
    on_anything = gate.wrap(hikari.Event, listener)
    started = hikari.StartedEvent(app=None)  # type: ignore[arg-type]
    interaction = _interaction_event(9)
    await on_anything(started)  # lifecycle: always
    await on_anything(interaction)  # claimed: first time
    await on_anything(_interaction_event(9))  # claimed elsewhere already
    assert seen == [started, interaction]
    assert getattr(on_anything, "__wrapped__", None) is listener


async def test_listener_gate_admits_only_the_active_generation_when_claims_are_unavailable() -> (
    None
):
    metrics = Metrics()
    old = ListenerGate(claims=_Unreachable(), generation=_View(is_active=True), metrics=metrics)
    new = ListenerGate(claims=_Unreachable(), generation=_View(is_active=False), metrics=metrics)
    answers = [await gate.admit(interaction_id) for interaction_id in (1, 2) for gate in (old, new)]
    assert answers == [True, False, True, False]  # each interaction admitted exactly once
    sample = metrics.registry.get_sample_value
    assert sample("shoal_interactions_unclaimed_total", {"decision": "answered"}) == 2
    assert sample("shoal_interactions_unclaimed_total", {"decision": "left"}) == 2


async def test_listener_gate_admits_by_the_claim_whatever_the_generation_when_redis_answers() -> (
    None
):
    claims = _Claims()
    passive = ListenerGate(claims=claims, generation=_View(is_active=False))
    active = ListenerGate(claims=claims, generation=_View(is_active=True))
    assert await passive.admit(5) is True  # the first claim wins, even on a passive worker
    assert await active.admit(5) is False


class _DiesAfterOneClaim:
    """Redis that accepts one claim and then is gone."""

    def __init__(self) -> None:
        self.calls = 0

    async def claim(self, interaction_id: int) -> ClaimOutcome:  # noqa: ARG002 - any id
        self.calls += 1
        return ClaimOutcome.WON if self.calls == 1 else ClaimOutcome.UNAVAILABLE


async def test_listener_gate_lets_the_active_generation_claim_first_even_when_asked_second() -> (
    None
):
    claims = _Claims()
    passive = ListenerGate(claims=claims, generation=_View(is_active=False), standby_s=0.05)
    active = ListenerGate(claims=claims, generation=_View(is_active=True), standby_s=0.05)
    passive_answer = asyncio.create_task(passive.admit(7))
    await asyncio.sleep(0)  # the passive worker got the interaction first
    assert await active.admit(7)
    assert not await passive_answer


async def test_listener_gate_answers_once_when_redis_dies_between_the_two_claims() -> None:
    claims = _DiesAfterOneClaim()
    active = ListenerGate(claims=claims, generation=_View(is_active=True), standby_s=0.01)
    passive = ListenerGate(claims=claims, generation=_View(is_active=False), standby_s=0.01)
    answers = await asyncio.gather(passive.admit(8), active.admit(8))
    assert tuple(answers) == (False, True)  # the active one won the claim
