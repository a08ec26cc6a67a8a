"""The job rules: renewals, lost leases, polls, the next run of periodic and due-time jobs."""

from __future__ import annotations

import pytest

from shoal.kit.job_rules import (
    HeldLease,
    Renewal,
    after_renewal,
    backoff_s,
    due_wait_s,
    first_periodic_run_at_s,
    held_until_s,
    is_lost,
    next_periodic_run_at_s,
    poll_every_s,
    renew_every_s,
)

_LEASE_S = 9.0


def _acquired_at(sent_at_s: float) -> HeldLease:
    return HeldLease(
        token=7, held_until_s=held_until_s(sent_at_s, _LEASE_S), renewed_at_s=sent_at_s
    )


def test_renew_every_s_leaves_two_more_renewals_when_one_fails() -> None:
    every_s = renew_every_s(_LEASE_S)
    assert every_s == 3.0
    lease = _acquired_at(100.0)
    assert not is_lost(lease, 100.0 + 2 * every_s)  # the third renewal is still in time
    assert lease.held_until_s > 100.0 + 2 * every_s


def test_held_until_s_ends_before_redis_expires_the_key_when_the_answer_was_slow() -> None:
    # Redis started the expiry when the request arrived, at or after it was sent.
    until_s = held_until_s(100.0, _LEASE_S)
    assert 100.0 < until_s < 100.0 + _LEASE_S
    assert until_s == pytest.approx(100.0 + 0.9 * _LEASE_S)


def test_is_lost_from_held_until_s_when_nothing_renewed_it() -> None:
    lease = _acquired_at(0.0)
    assert not is_lost(lease, lease.held_until_s - 0.001)
    assert is_lost(lease, lease.held_until_s)


def test_after_renewal_extends_from_the_send_time_when_renewed() -> None:
    lease = _acquired_at(0.0)
    renewed = after_renewal(lease, Renewal.RENEWED, sent_at_s=3.0, lease_s=_LEASE_S)
    assert renewed == HeldLease(token=7, held_until_s=held_until_s(3.0, _LEASE_S), renewed_at_s=3.0)


def test_after_renewal_keeps_the_deadline_when_redis_did_not_answer() -> None:
    lease = _acquired_at(0.0)
    assert after_renewal(lease, Renewal.UNANSWERED, sent_at_s=3.0, lease_s=_LEASE_S) == lease


def test_after_renewal_loses_the_lease_at_once_when_redis_refused() -> None:
    lease = _acquired_at(0.0)
    assert after_renewal(lease, Renewal.REFUSED, sent_at_s=3.0, lease_s=_LEASE_S) is None


def test_poll_every_s_adds_at_most_a_tenth_of_the_lease_when_jittered() -> None:
    assert poll_every_s(_LEASE_S, 0.0) == 3.0
    assert poll_every_s(_LEASE_S, 0.5) == pytest.approx(3.45)
    assert poll_every_s(_LEASE_S, 0.999) < 3.0 + 0.9


def test_a_dead_holder_is_replaced_within_a_lease_and_a_poll_when_others_poll() -> None:
    # The holder's last renewal at 0: Redis expires the key at lease_s at the latest; a
    # poller that last asked just before that asks again one poll later.
    worst_s = _LEASE_S + poll_every_s(_LEASE_S, 0.999)
    assert worst_s < _LEASE_S + renew_every_s(_LEASE_S) + 0.1 * _LEASE_S


def test_first_periodic_run_at_s_runs_at_once_when_no_run_is_known() -> None:
    assert first_periodic_run_at_s(None, 1_000.0, 60.0) == 1_000.0


def test_first_periodic_run_at_s_keeps_the_period_when_another_holder_ran_it() -> None:
    assert first_periodic_run_at_s(990.0, 1_000.0, 60.0) == 1_050.0  # not now: 10 s ago
    assert first_periodic_run_at_s(900.0, 1_000.0, 60.0) == 960.0  # overdue: at once


def test_first_periodic_run_at_s_waits_one_period_when_the_stamp_is_in_the_future() -> None:
    assert first_periodic_run_at_s(5_000.0, 1_000.0, 60.0) == 1_060.0


def test_next_periodic_run_at_s_is_one_period_after_the_run_ended() -> None:
    assert next_periodic_run_at_s(1_000.5, 1.0) == 1_001.5


def test_due_wait_s_sleeps_until_the_due_time_when_it_is_within_the_poll() -> None:
    assert due_wait_s(1_005.0, 1_000.0, 30.0) == 5.0


def test_due_wait_s_asks_again_after_poll_s_when_nothing_is_due_or_it_is_far() -> None:
    assert due_wait_s(None, 1_000.0, 30.0) == 30.0
    assert due_wait_s(9_000.0, 1_000.0, 30.0) == 30.0


def test_due_wait_s_runs_now_when_the_work_is_overdue() -> None:
    assert due_wait_s(900.0, 1_000.0, 30.0) == 0.0
    assert due_wait_s(1_000.0, 1_000.0, 30.0) == 0.0


def test_backoff_s_doubles_up_to_its_cap_when_failures_repeat() -> None:
    pauses = [backoff_s(failures, first_s=1.0, max_s=10.0) for failures in range(7)]
    assert pauses == [0.0, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_s_stays_at_its_cap_when_failures_are_countless() -> None:
    assert backoff_s(10_000, first_s=1.0, max_s=60.0) == 60.0
