"""Rate-limit arithmetic: fixed windows per bucket, Discord's headers and 429 bodies.

Pure: every function takes ``now`` (monotonic seconds) and, for headers, the wall-clock
time; nothing here reads a clock or does I/O. :mod:`.routing` keeps the
:class:`BucketTable` instances and applies the verdicts. Which route gets which limit
is :mod:`.limits`' business.

A bucket is a fixed window that opens with its first request and lasts ``window_s``;
up to ``limit`` requests pass in it. That is how Discord's buckets behave as seen from
their headers (``Remaining`` counts down, ``Reset-After`` counts down to one reset).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Final

__all__ = [
    "RATE_LIMITED_MESSAGE",
    "BucketTable",
    "RouteLimit",
    "Verdict",
    "Window",
    "bucket_hash",
    "global_limited_headers",
    "rate_limited_body",
    "route_headers",
    "route_limited_headers",
    "take",
]

RATE_LIMITED_MESSAGE: Final = "You are being rate limited."
#: Expired windows are swept once a table holds this many buckets (interaction tokens
#: each open one, so an unswept table would grow with every interaction).
_SWEEP_THRESHOLD: Final = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class RouteLimit:
    """At most ``limit`` requests per ``window_s`` seconds in one bucket."""

    limit: int
    window_s: float

    def __post_init__(self) -> None:
        """Reject limits no bucket could honour.

        Raises:
            ValueError: when ``limit`` is below 1 or ``window_s`` is not positive.
        """
        if self.limit < 1 or self.window_s <= 0:
            msg = f"a route limit needs limit >= 1 and window_s > 0, got {self}"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """One bucket's current window: when it opened and how many requests it took."""

    opened_at: float
    """Monotonic time of the window's first request."""
    used: int


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one request against one bucket."""

    is_allowed: bool
    limit: int
    remaining: int
    """Requests left in the window after this one."""
    reset_after_s: float
    """Seconds until the window resets (the 429's ``retry_after`` when refused)."""
    window: Window
    """The bucket's state after this request."""


def take(window: Window | None, limit: RouteLimit, now: float) -> Verdict:
    """Count one request at ``now`` against a bucket whose state is ``window``.

    A missing or expired window opens a new one. A refused request does not use up
    anything (Discord does not extend a window for requests it refused).
    """
    if window is None or now - window.opened_at >= limit.window_s:
        window = Window(opened_at=now, used=0)
    reset_after_s = max(0.0, window.opened_at + limit.window_s - now)
    if window.used >= limit.limit:
        return Verdict(
            is_allowed=False,
            limit=limit.limit,
            remaining=0,
            reset_after_s=reset_after_s,
            window=window,
        )
    taken = Window(opened_at=window.opened_at, used=window.used + 1)
    return Verdict(
        is_allowed=True,
        limit=limit.limit,
        remaining=limit.limit - taken.used,
        reset_after_s=reset_after_s,
        window=taken,
    )


class BucketTable:
    """Windows by bucket key, forgetting the reset ones as the table grows.

    Sweeps are amortised: after one, the next waits until the table has doubled (or
    reached the threshold), so a table full of live buckets is not swept per request.
    """

    __slots__ = ("_next_sweep_size", "_windows")

    def __init__(self) -> None:
        """Create an empty table."""
        self._windows: dict[tuple[object, ...], tuple[Window, float]] = {}
        self._next_sweep_size = _SWEEP_THRESHOLD

    def __len__(self) -> int:
        """Return the number of buckets held."""
        return len(self._windows)

    def take(self, key: tuple[object, ...], limit: RouteLimit, now: float) -> Verdict:
        """Count one request at ``now`` in the bucket ``key`` and remember its window."""
        if len(self._windows) >= self._next_sweep_size:
            self.sweep(now)
            self._next_sweep_size = max(_SWEEP_THRESHOLD, 2 * len(self._windows))
        held = self._windows.get(key)
        verdict = take(None if held is None else held[0], limit, now)
        self._windows[key] = (verdict.window, limit.window_s)
        return verdict

    def sweep(self, now: float) -> None:
        """Forget the windows that have reset (a new request would open a fresh one)."""
        self._windows = {
            key: (window, window_s)
            for key, (window, window_s) in self._windows.items()
            if now - window.opened_at < window_s
        }


def bucket_hash(method: str, template: str) -> str:
    """Return the opaque ``X-RateLimit-Bucket`` of a route, stable across runs.

    Like Discord's, the hash names the route's limit, not one major parameter: the
    bucket a request lands in is this hash plus the major parameter's value.
    """
    return hashlib.blake2b(f"{method} {template}".encode(), digest_size=16).hexdigest()


def route_headers(verdict: Verdict, bucket: str, wall_now: float) -> dict[str, str]:
    """Return the ``X-RateLimit-*`` headers of a request counted in a bucket."""
    return {
        "X-RateLimit-Limit": str(verdict.limit),
        "X-RateLimit-Remaining": str(verdict.remaining),
        "X-RateLimit-Reset": f"{wall_now + verdict.reset_after_s:.3f}",
        "X-RateLimit-Reset-After": f"{verdict.reset_after_s:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def route_limited_headers(verdict: Verdict, bucket: str, wall_now: float) -> dict[str, str]:
    """Return the headers of a 429 from a per-route bucket (scope ``user``)."""
    return route_headers(verdict, bucket, wall_now) | {
        "Retry-After": str(_whole_seconds(verdict.reset_after_s)),
        "X-RateLimit-Scope": "user",
    }


def global_limited_headers(retry_after_s: float) -> dict[str, str]:
    """Return the headers of a 429 from the global limit."""
    return {
        "Retry-After": str(_whole_seconds(retry_after_s)),
        "X-RateLimit-Global": "true",
        "X-RateLimit-Scope": "global",
    }


def rate_limited_body(retry_after_s: float, *, is_global: bool) -> dict[str, object]:
    """Return a 429 body. ``code`` 0 is there because Discord's spec requires it."""
    return {
        "message": RATE_LIMITED_MESSAGE,
        "retry_after": round(retry_after_s, 3),
        "global": is_global,
        "code": 0,
    }


def _whole_seconds(seconds: float) -> int:
    """Round up, never to zero: ``Retry-After`` is whole seconds and 0 means "now"."""
    return max(1, math.ceil(seconds))
