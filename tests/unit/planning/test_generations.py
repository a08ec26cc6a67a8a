"""The active-generation rule: what the operator's key means, and who processes events."""

from __future__ import annotations

import pytest

from shoal.planning.generations import (
    DEFAULT_ACTIVE_GENERATION,
    active_generation_of,
    answers_unclaimed,
    is_generation_active,
)


def test_active_generation_of_is_generation_0_when_the_key_is_absent() -> None:
    assert active_generation_of(None) == DEFAULT_ACTIVE_GENERATION == 0


@pytest.mark.parametrize(("raw", "expected"), [(b"1", 1), ("7", 7), (b" 2\n", 2), (b"0", 0)])
def test_active_generation_of_reads_the_number_when_the_key_holds_one(
    raw: str | bytes, expected: int
) -> None:
    assert active_generation_of(raw) == expected


@pytest.mark.parametrize("raw", [b"", b"-1", b"1.0", "one", b"\xff", "\u0661"])
def test_active_generation_of_refuses_when_the_key_holds_no_generation(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        active_generation_of(raw)


@pytest.mark.parametrize(
    ("generation", "active", "expected"),
    [(0, 0, True), (1, 0, False), (1, 1, True), (0, 1, False), (0, None, False), (1, None, False)],
)
def test_is_generation_active_only_when_the_worker_is_the_active_generation(
    generation: int, *, active: int | None, expected: bool
) -> None:
    assert is_generation_active(generation, active) is expected


@pytest.mark.parametrize(
    ("generation", "active", "active_for_s", "expected"),
    [
        (0, 0, None, True),  # active from its first read: no switch to hand over
        (1, 0, None, False),  # passive
        (1, None, None, False),  # never read
        (1, 1, 0.5, False),  # switched to it half a refresh ago: the old one may not know
        (1, 1, 1.9, False),
        (1, 1, 2.0, True),  # two refreshes: every old worker read the switch
        (1, 1, 60.0, True),
    ],
)
def test_answers_unclaimed_only_for_the_active_generation_past_the_handover(
    generation: int, *, active: int | None, active_for_s: float | None, expected: bool
) -> None:
    assert (
        answers_unclaimed(generation, active, active_for_s=active_for_s, refresh_s=1.0) is expected
    )


def test_answers_unclaimed_never_lets_two_generations_answer_around_a_switch() -> None:
    # The old generation (0) reads the switch to 1 at some point of its refresh; until then
    # it answers. Whatever the outage's start, at most one of the two answers.
    refresh_s = 1.0
    for switch_seen_by_old_after_s in (0.0, 0.3, 0.99):
        for outage_after_switch_s in (0.0, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0):
            old_view = 1 if outage_after_switch_s > switch_seen_by_old_after_s else 0
            old = answers_unclaimed(0, old_view, active_for_s=None, refresh_s=refresh_s)
            new = answers_unclaimed(1, 1, active_for_s=outage_after_switch_s, refresh_s=refresh_s)
            assert not (old and new), (switch_seen_by_old_after_s, outage_after_switch_s)
