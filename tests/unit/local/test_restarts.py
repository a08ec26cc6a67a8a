"""The local fleet's restart rule: at once, then a doubling back-off, a crash loop ends it."""

from __future__ import annotations

import signal

import pytest

from shoal.gateway.running import EXIT_FATAL_CLOSE
from shoal.local import restarts
from shoal.local.restarts import RestartPolicy, exit_text, next_restart

_POLICY = RestartPolicy(stable_after_s=10.0, first_delay_s=1.0, max_delay_s=4.0, crash_loop_exits=5)


def test_the_fatal_status_is_the_workers() -> None:
    assert restarts.EXIT_FATAL_CLOSE == EXIT_FATAL_CLOSE


def test_a_worker_that_ran_stably_is_restarted_at_once_and_its_count_starts_over() -> None:
    decision = next_restart(exit_status=-9, ran_s=300.0, quick_exits=3, policy=_POLICY)
    assert (decision.delay_s, decision.quick_exits) == (0.0, 0)


def test_quick_exits_wait_longer_each_time_up_to_the_cap() -> None:
    delays = []
    quick = 0
    for _ in range(4):
        decision = next_restart(exit_status=1, ran_s=0.5, quick_exits=quick, policy=_POLICY)
        delays.append(decision.delay_s)
        quick = decision.quick_exits
    assert delays == [0.0, 1.0, 2.0, 4.0]
    capped = next_restart(
        exit_status=1,
        ran_s=0.5,
        quick_exits=3,
        policy=RestartPolicy(first_delay_s=1.0, max_delay_s=3.0, crash_loop_exits=9),
    )
    assert capped.delay_s == 3.0


def test_the_fifth_quick_exit_in_a_row_is_a_crash_loop() -> None:
    decision = next_restart(exit_status=1, ran_s=0.5, quick_exits=4, policy=_POLICY)
    assert decision.delay_s is None
    assert "5 times in a row within 10 s" in decision.reason


def test_a_fatal_close_is_never_restarted() -> None:
    decision = next_restart(exit_status=EXIT_FATAL_CLOSE, ran_s=600.0, quick_exits=0)
    assert decision.delay_s is None
    assert "fatal code" in decision.reason


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (0, "status 0"),
        (2, "status 2"),
        (-signal.SIGKILL, "killed by SIGKILL"),
        (-99, "killed by signal 99"),
    ],
)
def test_exit_statuses_read_as_a_person_would(status: int, text: str) -> None:
    assert exit_text(status) == text
