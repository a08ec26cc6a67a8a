"""Interaction accounting in :class:`SimStats`: every injected one in exactly one outcome.

Pure: interactions are built by hand and every decision gets its ``now``.
"""

from __future__ import annotations

from typing import Final

import pytest

from shoal_sim.discord.entities import Interaction, InteractionOutcome
from shoal_sim.discord.stats import SimStats

_DEADLINE_S: Final = 3.0


def _interaction(interaction_id: int, *, dispatched_at: float | None) -> Interaction:
    return Interaction(
        id=interaction_id,
        token=f"token{interaction_id}",
        application_id=1,
        type=2,
        guild_id=10,
        channel_id=11,
        user_id=12,
        data={"name": "ping"},
        created_at=0.0 if dispatched_at is None else dispatched_at,
        dispatched_at=dispatched_at,
    )


def _injected(stats: SimStats, interaction_id: int, *, at: float | None) -> Interaction:
    """Count an interaction dispatched at ``at`` (None: it reached no session)."""
    interaction = _interaction(interaction_id, dispatched_at=at)
    stats.count_injected(interaction, is_delivered=at is not None)
    return interaction


def _buckets(stats: SimStats) -> tuple[int, int, int, int]:
    return (
        stats.interactions_answered,
        stats.interactions_unanswered,
        stats.interactions_undelivered,
        stats.interactions_pending,
    )


def _adds_up(stats: SimStats) -> bool:
    return stats.interactions_injected == sum(_buckets(stats))


def test_stats_count_every_interaction_in_one_bucket_when_outcomes_are_mixed() -> None:
    stats = SimStats()
    answered = _injected(stats, 1, at=0.0)
    expired = _injected(stats, 2, at=0.5)
    undelivered = _injected(stats, 3, at=None)
    waiting = _injected(stats, 4, at=2.0)
    assert _adds_up(stats)
    assert _buckets(stats) == (0, 0, 1, 3)

    stats.count_answered(answered, latency_ms=12.0)
    stats.expire_due(now=4.0, deadline_s=_DEADLINE_S)

    assert _buckets(stats) == (1, 1, 1, 1)
    assert _adds_up(stats)
    assert answered.outcome is InteractionOutcome.ANSWERED
    assert expired.outcome is InteractionOutcome.UNANSWERED
    assert undelivered.outcome is InteractionOutcome.UNDELIVERED
    assert waiting.outcome is InteractionOutcome.PENDING
    assert stats.interaction_latencies_ms == [12.0]


def test_stats_have_nothing_pending_when_every_deadline_passed() -> None:
    stats = SimStats()
    for index in range(5):
        _injected(stats, index, at=index * 0.1)
    _injected(stats, 9, at=None)

    stats.expire_due(now=0.4 + _DEADLINE_S + 0.01, deadline_s=_DEADLINE_S)

    assert _buckets(stats) == (0, 5, 1, 0)
    assert not stats.awaiting


def test_stats_keep_an_interaction_pending_when_its_deadline_is_reached_but_not_passed() -> None:
    stats = SimStats()
    interaction = _injected(stats, 1, at=1.0)

    stats.expire_due(now=1.0 + _DEADLINE_S, deadline_s=_DEADLINE_S)  # the verdict uses ">"

    assert interaction.outcome is InteractionOutcome.PENDING
    assert stats.interactions_pending == 1


def test_stats_count_one_outcome_when_the_answer_follows_the_expiry() -> None:
    stats = SimStats()
    interaction = _injected(stats, 1, at=0.0)
    stats.expire_due(now=5.0, deadline_s=_DEADLINE_S)

    stats.count_answered(interaction, latency_ms=5000.0)

    assert _buckets(stats) == (0, 1, 0, 0)
    assert interaction.outcome is InteractionOutcome.UNANSWERED
    assert stats.interaction_latencies_ms == []


def test_stats_count_late_once_as_unanswered_when_late_responses_come_before_the_timer() -> None:
    stats = SimStats()
    interaction = _injected(stats, 1, at=0.0)

    stats.count_late(interaction)
    stats.count_late(interaction)
    stats.expire_due(now=5.0, deadline_s=_DEADLINE_S)

    assert _buckets(stats) == (0, 1, 0, 0)
    assert stats.interactions_late == 1
    assert interaction.is_late


def test_stats_count_no_late_when_the_late_response_is_for_an_undelivered_interaction() -> None:
    stats = SimStats()
    interaction = _injected(stats, 1, at=None)

    stats.count_late(interaction)

    assert _buckets(stats) == (0, 0, 1, 0)
    assert stats.interactions_late == 0


def test_stats_count_second_responses_when_answered_twice() -> None:
    stats = SimStats()
    interaction = _injected(stats, 1, at=0.0)
    stats.count_answered(interaction, latency_ms=1.0)

    stats.count_double_acknowledged(interaction)

    assert stats.interactions_double_acknowledged == 1
    assert _buckets(stats) == (1, 0, 0, 0)


@pytest.mark.parametrize("settles", ["answer", "expire", "late", "second"])
def test_stats_count_nothing_of_an_older_interaction_when_reset_before_it_settles(
    settles: str,
) -> None:
    stats = SimStats()
    old = _injected(stats, 1, at=0.0)
    if settles == "second":
        stats.count_answered(old, latency_ms=1.0)
    stats.reset()
    new = _injected(stats, 2, at=1.0)

    if settles == "answer":
        stats.count_answered(old, latency_ms=1.0)
    elif settles == "late":
        stats.count_late(old)
    elif settles == "second":
        stats.count_double_acknowledged(old)
    stats.expire_due(now=3.5, deadline_s=_DEADLINE_S)

    assert stats.interactions_injected == 1
    assert _buckets(stats) == (0, 0, 0, 1)
    assert stats.interactions_late == stats.interactions_double_acknowledged == 0
    assert stats.interaction_latencies_ms == []
    assert old.outcome is not InteractionOutcome.PENDING  # settled, though counted nowhere
    assert new.outcome is InteractionOutcome.PENDING
    assert stats.is_counted(new)
    assert not stats.is_counted(old)


def test_stats_report_undelivered_and_pending_when_read_as_json() -> None:
    stats = SimStats()
    _injected(stats, 1, at=0.0)
    _injected(stats, 2, at=None)

    counted = stats.as_json(sessions_by_shard={})["interactions"]

    assert counted["injected"] == 2
    assert (counted["answered"], counted["unanswered"]) == (0, 0)
    assert (counted["undelivered"], counted["pending"]) == (1, 1)
