"""When a background job's lease is renewed, when it counts as lost, and when a job runs next.

Pure: :mod:`shoal.kit.jobs` feeds these rules the outcome of each Redis round trip and the
time, and acts on what they return. The discipline they keep, so that at most one worker
runs a job at any moment and a dead holder is replaced within one lease:

- the holder renews every third of the lease (:func:`renew_every_s`), so two renewals in a
  row may fail before the lease is in danger;
- the holder counts its lease as valid only until a little before it expires in Redis,
  measured from when the request that set it was **sent** (:func:`held_until_s`): Redis
  started the expiry later than that, so the holder stops first even when the answer
  was slow; an unanswered renewal changes nothing, a refused one loses the lease at once
  (:func:`after_renewal`);
- non-holders poll every third of the lease plus a little jitter (:func:`poll_every_s`),
  so a dead holder's lease is taken over within ``lease_s + poll``;
- a periodic job runs ``every_s`` after its previous run ended, also across a takeover
  (:func:`first_periodic_run_at_s`); a due-time job sleeps until its due time, re-asking
  at most every ``poll_s`` (:func:`due_wait_s`); a failing due-time job backs off,
  doubling up to a cap (:func:`backoff_s`).

Times ending in ``_s`` are monotonic seconds (leases), those named ``*_unix_s`` are Unix
seconds shared by every worker (due times, the last run). Does not own Redis, the
scheduling loops nor the log lines.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Final

__all__ = [
    "CLOCK_MARGIN",
    "POLL_JITTER",
    "RENEWALS_PER_LEASE",
    "HeldLease",
    "Renewal",
    "after_renewal",
    "backoff_s",
    "due_wait_s",
    "first_periodic_run_at_s",
    "held_until_s",
    "is_lost",
    "next_periodic_run_at_s",
    "poll_every_s",
    "renew_every_s",
]

RENEWALS_PER_LEASE: Final = 3
"""Renewals (and polls) per lease: two can fail in a row before the lease is in danger."""
CLOCK_MARGIN: Final = 0.1
"""Share of the lease the holder gives up at its end, for clock-rate drift between it and
Redis and for a run's cancellation to take effect before anybody else can take over."""
POLL_JITTER: Final = 0.1
"""Largest jitter of a poll, as a share of the lease: workers started together spread out."""


class Renewal(enum.Enum):
    """What Redis said to a renewal of the lease."""

    RENEWED = "renewed"
    """The lease was still this worker's and runs for another ``lease_s``."""
    REFUSED = "refused"
    """Another worker holds it, or nobody does (it expired, or Redis lost its data)."""
    UNANSWERED = "unanswered"
    """Redis did not answer: the lease may or may not still run."""


@dataclasses.dataclass(frozen=True, slots=True)
class HeldLease:
    """A lease as its holder sees it."""

    token: int
    """The fencing token Redis gave this acquisition (strictly increasing per job)."""
    held_until_s: float
    """Monotonic time from which the holder no longer counts on it."""
    renewed_at_s: float
    """Monotonic time the last renewal (or the acquisition) that Redis answered was sent."""


def renew_every_s(lease_s: float) -> float:
    """Return how often the holder renews a lease of ``lease_s``."""
    return lease_s / RENEWALS_PER_LEASE


def poll_every_s(lease_s: float, jitter: float) -> float:
    """Return how long a non-holder waits before it tries to take the lease again.

    Args:
        lease_s: The lease's length.
        jitter: A random number in [0, 1) (the caller draws it, so this stays pure).
    """
    return lease_s / RENEWALS_PER_LEASE + jitter * POLL_JITTER * lease_s


def held_until_s(sent_at_s: float, lease_s: float) -> float:
    """Return until when the holder counts on a lease set by a request sent at ``sent_at_s``."""
    return sent_at_s + lease_s * (1.0 - CLOCK_MARGIN)


def is_lost(lease: HeldLease, now_s: float) -> bool:
    """Return whether the holder must stop counting on ``lease`` at ``now_s``."""
    return now_s >= lease.held_until_s


def after_renewal(
    lease: HeldLease, renewal: Renewal, *, sent_at_s: float, lease_s: float
) -> HeldLease | None:
    """Return the lease after a renewal sent at ``sent_at_s``, or None when it is lost.

    An unanswered renewal leaves the lease as it was: it is lost only when its time runs
    out (:func:`is_lost`), since Redis may well have renewed it.
    """
    if renewal is Renewal.REFUSED:
        return None
    if renewal is Renewal.UNANSWERED:
        return lease
    return dataclasses.replace(
        lease, held_until_s=held_until_s(sent_at_s, lease_s), renewed_at_s=sent_at_s
    )


def first_periodic_run_at_s(
    last_finished_unix_s: float | None, now_unix_s: float, every_s: float
) -> float:
    """Return when a periodic job's new holder first runs it (Unix seconds).

    ``every_s`` after the previous holder's last run ended (at once when that is past or
    unknown): a takeover neither skips a period nor runs a daily job twice. A last run
    stamped in the future (another worker's clock is ahead) counts as ending now.
    """
    if last_finished_unix_s is None:
        return now_unix_s
    return min(last_finished_unix_s, now_unix_s) + every_s


def next_periodic_run_at_s(finished_unix_s: float, every_s: float) -> float:
    """Return when a periodic job runs again after a run that ended at ``finished_unix_s``."""
    return finished_unix_s + every_s


def due_wait_s(due_unix_s: float | None, now_unix_s: float, poll_s: float) -> float:
    """Return how long a due-time job sleeps before it runs or asks again (0: run now).

    Args:
        due_unix_s: When its next work is due, or None when nothing is.
        now_unix_s: The time now.
        poll_s: The longest it sleeps without asking again (work scheduled by another
            worker is noticed within this).
    """
    if due_unix_s is None:
        return poll_s
    return min(max(due_unix_s - now_unix_s, 0.0), poll_s)


def backoff_s(failures: int, *, first_s: float, max_s: float) -> float:
    """Return the pause after ``failures`` failed runs in a row (0 after a success).

    ``first_s`` after the first failure, doubling with each further one, at most ``max_s``.
    """
    if failures <= 0:
        return 0.0
    return min(first_s * 2.0 ** min(failures - 1, 62), max_s)
