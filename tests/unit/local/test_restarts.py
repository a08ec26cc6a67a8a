"""The local fleet's restart rule: at once, then a doubling back-off, a crash loop ends it.

A fatal close ends the run at once, except 4011 (sharding required): the worker is
restarted with the same back-off while the fleet reshards, and never counted a crash loop.
"""

from __future__ import annotations

import signal

import pytest

from shoal.gateway.running import EXIT_FATAL_CLOSE
from shoal.local import restarts
from shoal.local.restarts import SHARDING_REQUIRED_NOTE, RestartPolicy, exit_text, next_restart
from shoal.planning.closing import FATAL_REASONS

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


def test_a_fatal_close_is_never_restarted_when_its_code_is_unknown() -> None:
    decision = next_restart(exit_status=EXIT_FATAL_CLOSE, ran_s=600.0, quick_exits=0)
    assert decision.delay_s is None
    assert decision.reason == (
        "Discord closed a shard with a fatal code (status 3): restarting cannot help; "
        "check the token and the intents"
    )


@pytest.mark.parametrize("code", [4004, 4010, 4012, 4013, 4014])
def test_a_fatal_close_other_than_4011_ends_the_run_naming_its_code(code: int) -> None:
    decision = next_restart(
        exit_status=EXIT_FATAL_CLOSE, ran_s=600.0, quick_exits=2, close_code=code, policy=_POLICY
    )
    assert (decision.delay_s, decision.quick_exits, decision.note) == (None, 2, "")
    assert decision.reason == (
        f"Discord closed a shard with {code} ({FATAL_REASONS[code]}): restarting cannot help"
    )


def test_a_fatal_close_with_a_code_of_no_known_meaning_still_ends_the_run() -> None:
    decision = next_restart(exit_status=EXIT_FATAL_CLOSE, ran_s=1.0, quick_exits=0, close_code=4999)
    assert decision.delay_s is None
    assert (
        decision.reason == "Discord closed a shard with 4999 (a fatal code): restarting cannot help"
    )


def test_a_4011_close_is_restarted_at_once_saying_the_fleet_reshards() -> None:
    decision = next_restart(
        exit_status=EXIT_FATAL_CLOSE, ran_s=2.0, quick_exits=0, close_code=4011, policy=_POLICY
    )
    assert decision == restarts.Restart(0.0, 1, note=SHARDING_REQUIRED_NOTE)
    assert decision.note == "Discord requires more shards (4011): resharding"


def test_repeated_4011_closes_back_off_to_the_cap_and_never_make_a_crash_loop() -> None:
    delays = []
    quick = 0
    for _ in range(2 * _POLICY.crash_loop_exits):
        decision = next_restart(
            exit_status=EXIT_FATAL_CLOSE,
            ran_s=0.5,
            quick_exits=quick,
            close_code=4011,
            policy=_POLICY,
        )
        delays.append(decision.delay_s)
        quick = decision.quick_exits
    assert delays == [0.0, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert quick == 2 * _POLICY.crash_loop_exits


def test_a_4011_close_after_a_stable_run_starts_the_back_off_over() -> None:
    decision = next_restart(
        exit_status=EXIT_FATAL_CLOSE, ran_s=300.0, quick_exits=4, close_code=4011, policy=_POLICY
    )
    assert (decision.delay_s, decision.quick_exits) == (0.0, 0)


def test_a_4011_close_ends_the_run_when_the_shard_count_is_fixed() -> None:
    decision = next_restart(
        exit_status=EXIT_FATAL_CLOSE,
        ran_s=2.0,
        quick_exits=0,
        close_code=4011,
        is_count_fixed=True,
        policy=_POLICY,
    )
    assert decision.delay_s is None
    assert decision.reason.startswith("Discord requires more shards (4011) but --shards fixes")


def test_the_close_code_does_not_change_the_rule_for_other_exits() -> None:
    with_code = next_restart(
        exit_status=1, ran_s=0.5, quick_exits=4, close_code=4011, policy=_POLICY
    )
    assert with_code == next_restart(exit_status=1, ran_s=0.5, quick_exits=4, policy=_POLICY)
    assert with_code.delay_s is None  # a crash loop all the same


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
