"""Timing of the cluster-wide identify gate: how long a waiting shard sleeps, how long it lives.

Pure: the Redis gate (``shoal.gateway.identifying``) asks these functions, and the
operator and benchmarks use :func:`cold_boot_bound_s` for the boot-time target. Does not
own the queue or the lock (those live in Redis) nor which bucket a shard is in
(:func:`shoal.planning.shards.bucket_of`).
"""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "DISCORD_IDENTIFY_WINDOW_S",
    "cold_boot_bound_s",
    "max_poll_s",
    "retry_delay_s",
    "send_margin_s",
    "waiter_ttl_ms",
]

#: Discord lets each bucket IDENTIFY once per this many seconds.
DISCORD_IDENTIFY_WINDOW_S: Final = 5.0
#: Longest sleep between two polls: bounds how late a waiter notices a dead holder and how
#: long a dead waiter keeps its place (see :func:`waiter_ttl_ms`).
_MAX_POLL_S: Final = 1.0
#: Sleep while the bucket is free but another shard is at the head of the queue: it is
#: about to take its turn (or its heartbeat is about to lapse).
_HEAD_PENDING_POLL_S: Final = 0.02
#: Redis rounds PTTL down to the millisecond: sleep one more so the lock has surely gone.
_EXPIRY_SLACK_S: Final = 0.001
#: Share of the window added after an IDENTIFY is sent, and its ceiling (see
#: :func:`send_margin_s`).
_SEND_MARGIN_FRACTION: Final = 0.05
_MAX_SEND_MARGIN_S: Final = 0.25
#: A waiter misses this many polls in a row before it counts as dead.
_MISSED_POLLS: Final = 3
#: Headroom over the missed polls for a slow Redis round trip or a busy event loop.
_WAITER_TTL_SLACK_MS: Final = 500


def send_margin_s(window_s: float) -> float:
    """Return how much longer than ``window_s`` a bucket stays shut after an IDENTIFY is sent.

    Discord times the window from the IDENTIFY it receives; two IDENTIFYs sent one window
    apart can arrive closer together when the first spent longer in transit (a busy
    event loop, a congested link). The margin (5% of the window, at most 250 ms) absorbs
    that jitter and costs at most 5% of the cold-boot bound.
    """
    return min(window_s * _SEND_MARGIN_FRACTION, _MAX_SEND_MARGIN_S)


def max_poll_s(window_s: float) -> float:
    """Return the longest a waiting shard sleeps between polls for a ``window_s`` gate."""
    if not window_s > 0:
        msg = f"window_s must be positive, got {window_s}"
        raise ValueError(msg)
    return min(window_s / 2, _MAX_POLL_S)


def waiter_ttl_ms(window_s: float) -> int:
    """Return how long a queued shard keeps its place without polling (its heartbeat).

    Every poll renews it; a waiter that died is dropped after this long, so it delays
    the shards behind it by at most this much.
    """
    return math.ceil(_MISSED_POLLS * max_poll_s(window_s) * 1000) + _WAITER_TTL_SLACK_MS


def retry_delay_s(*, lock_ttl_ms: int, window_s: float) -> float:
    """Return how long a shard that did not get its turn sleeps before it asks again.

    Args:
        lock_ttl_ms: The bucket lock's remaining time to live as Redis PTTL reports it:
            positive while another IDENTIFY's window runs, -2 when the bucket is free (so
            another shard is at the head of the queue), -1 for a lock with no expiry
            (never set by the gate; polled slowly until someone removes it).
        window_s: The identify window.
    """
    cap_s = max_poll_s(window_s)
    if lock_ttl_ms > 0:
        # Wake exactly when the lock lapses if that is soon, else renew the heartbeat.
        return min(lock_ttl_ms / 1000 + _EXPIRY_SLACK_S, cap_s)
    if lock_ttl_ms == -1:
        return cap_s
    return min(_HEAD_PENDING_POLL_S, cap_s)


def cold_boot_bound_s(shards: int, max_concurrency: int, window_s: float) -> float:
    """Return the least time Discord allows a cold boot of ``shards`` to take.

    ``ceil(shards / max_concurrency)`` identify windows: the bound the fleet aims for.
    """
    if shards < 0 or max_concurrency < 1:
        msg = "shards must be >= 0 and max_concurrency >= 1"
        raise ValueError(msg)
    return math.ceil(shards / max_concurrency) * window_s
