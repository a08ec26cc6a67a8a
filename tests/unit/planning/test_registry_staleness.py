"""Which shard registry entries are stale, and which count as READY shards."""

from __future__ import annotations

import pytest

from shoal.observability.shard_status import ShardStatus
from shoal.planning.registry_staleness import (
    READY_STATE,
    REGISTRY_REFRESH_S,
    STALE_AFTER_S,
    is_counted_ready,
    is_stale,
    ready_by_generation,
    shown_state,
)
from shoal.storage.shard_registry import RegistryEntry

_NOW = 1_700_000_100.0


def _entry(
    generation: int, shard_id: int, shard_count: int, state: str = "ready", age_s: float = 0.0
) -> RegistryEntry:
    return RegistryEntry(
        generation=generation,
        shard_id=shard_id,
        shard_count=shard_count,
        state=state,
        guild_count=1_000,
        latency_ms=None,
        pod="local-0",
        updated_at=_NOW - age_s,
    )


def test_entries_go_stale_after_two_and_a_half_refreshes_of_two_seconds() -> None:
    assert REGISTRY_REFRESH_S == 2.0
    assert STALE_AFTER_S == 5.0
    assert ShardStatus.READY.value == READY_STATE


@pytest.mark.parametrize(
    ("age_s", "is_expected_stale"),
    [(0.0, False), (2.1, False), (5.0, False), (5.1, True), (600.0, True)],
)
def test_is_stale_when_the_entry_missed_more_than_two_refreshes(
    age_s: float, *, is_expected_stale: bool
) -> None:
    assert is_stale(age_s) is is_expected_stale
    assert is_counted_ready("ready", age_s) is not is_expected_stale


def test_is_counted_ready_is_false_when_the_state_is_not_ready_however_fresh() -> None:
    assert not is_counted_ready("connecting", 0.0)


def test_shown_state_says_stale_and_how_long_ago_when_the_worker_stopped_writing() -> None:
    assert shown_state("ready", 1.0) == "ready"
    assert shown_state("ready", 7.4) == "stale (ready 7 s ago)"
    assert shown_state("resuming", 12.0) == "stale (resuming 12 s ago)"


def test_ready_by_generation_counts_fresh_ready_entries_of_the_planned_count_only() -> None:
    entries = [
        _entry(0, 0, 2),
        _entry(0, 1, 2, age_s=4.0),  # a refresh late: still READY
        _entry(1, 0, 4),
        _entry(1, 1, 4, state="connecting"),  # not READY yet
        _entry(1, 2, 8),  # left by a generation 1 of another count
        _entry(1, 3, 4, age_s=6.0),  # its worker froze: stale
        _entry(2, 0, 4),  # not expected at all
    ]

    assert ready_by_generation(entries, {0: 2, 1: 4}, now=_NOW) == {0: 2, 1: 1}
