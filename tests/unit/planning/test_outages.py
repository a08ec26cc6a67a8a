"""The outage rules: one notice down, summaries while it lasts, one notice back."""

from __future__ import annotations

from shoal.planning.outages import (
    UP,
    Transition,
    after_failure,
    after_success,
    is_summary_due,
    summarised,
)


def test_after_failure_goes_down_once_when_failures_repeat() -> None:
    state, transition = after_failure(UP, 10.0)
    assert transition is Transition.WENT_DOWN
    assert not state.is_up
    assert state.down_since_s == 10.0
    again, second = after_failure(state, 11.0)
    assert second is None
    assert again == state  # the outage still started at 10 s


def test_after_success_comes_back_once_when_the_dependency_was_down() -> None:
    down, _ = after_failure(UP, 1.0)
    state, transition = after_success(down)
    assert transition is Transition.CAME_BACK
    assert state == UP
    assert after_success(state) == (UP, None)


def test_is_summary_due_every_period_when_an_outage_lasts() -> None:
    down, _ = after_failure(UP, 100.0)
    assert not is_summary_due(down, 129.9, every_s=30.0)
    assert is_summary_due(down, 130.0, every_s=30.0)
    after = summarised(down, 130.0)
    assert not is_summary_due(after, 159.0, every_s=30.0)
    assert is_summary_due(after, 160.0, every_s=30.0)


def test_is_summary_due_never_when_the_dependency_is_up() -> None:
    assert not is_summary_due(UP, 1e9, every_s=30.0)
