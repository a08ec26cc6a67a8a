"""Command rate limits as data, and the pure decision on a window's usage.

Owns the rules (:class:`RateLimitRule`: at most ``limit`` uses per ``window_s`` per user,
guild or bot-wide, for one command) and :func:`judge`, which decides from counts and
remaining window times. Does not own counting: :mod:`shoal.interactions.rate_limiting`
keeps the windows in Redis and calls :func:`judge`.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "ALLOWED",
    "DEFAULT_RATE_LIMITS",
    "RateLimitRule",
    "RateLimitScope",
    "RateLimitVerdict",
    "WindowUsage",
    "judge",
    "subject_of",
]


class RateLimitScope(enum.StrEnum):
    """Whose uses a rule counts together."""

    USER = "user"
    """Each user separately."""
    GUILD = "guild"
    """Each guild separately (the rule does not apply in DMs)."""
    GLOBAL = "global"
    """Every use of the command across the bot."""


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitRule:
    """At most ``limit`` uses of a command per ``window_s`` per ``scope`` subject."""

    scope: RateLimitScope
    limit: int
    """Uses allowed in one window (at least 1)."""
    window_s: float
    """Window length in seconds; a window starts at its first use (fixed window)."""

    def __post_init__(self) -> None:
        """Reject a limit below 1 or a window shorter than a millisecond."""
        if self.limit < 1:
            msg = f"limit must be at least 1, got {self.limit}"
            raise ValueError(msg)
        if not self.window_s >= 0.001:  # noqa: PLR2004 - Redis expiries are in milliseconds
            msg = f"window_s must be at least 0.001, got {self.window_s}"
            raise ValueError(msg)

    @property
    def window_ms(self) -> int:
        """The window in whole milliseconds (Redis ``PX``)."""
        return max(1, round(self.window_s * 1000))


DEFAULT_RATE_LIMITS: Final = (
    RateLimitRule(RateLimitScope.USER, limit=5, window_s=10.0),
    RateLimitRule(RateLimitScope.GUILD, limit=60, window_s=10.0),
)
"""Rules for a command whose module sets none: 5 per user and 60 per guild per 10 s."""


@dataclasses.dataclass(frozen=True, slots=True)
class WindowUsage:
    """What a rule's current window holds after counting this use."""

    rule: RateLimitRule
    count: int
    """Uses in the window, this one included."""
    ttl_ms: int
    """Milliseconds until the window ends (negative when Redis reports no expiry)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitVerdict:
    """Whether a use is refused, and when the caller may try again."""

    is_limited: bool
    retry_after_s: float
    """Seconds until every exceeded window has ended (0 when allowed)."""
    rule: RateLimitRule | None = None
    """The exceeded rule that ends last (None when allowed)."""


ALLOWED: Final = RateLimitVerdict(is_limited=False, retry_after_s=0.0)


def subject_of(rule: RateLimitRule, *, user_id: int, guild_id: int | None) -> int | None:
    """Return whose window ``rule`` counts this use in, or None when it does not apply."""
    if rule.scope is RateLimitScope.USER:
        return user_id
    if rule.scope is RateLimitScope.GUILD:
        return guild_id
    return 0


def judge(usages: Sequence[WindowUsage]) -> RateLimitVerdict:
    """Refuse when any window holds more than its limit; wait for the last one to end."""
    exceeded = [usage for usage in usages if usage.count > usage.rule.limit]
    if not exceeded:
        return ALLOWED

    def remaining_s(usage: WindowUsage) -> float:
        # No expiry is a key written by something else: wait one whole window.
        return usage.ttl_ms / 1000 if usage.ttl_ms >= 0 else usage.rule.window_s

    worst = max(exceeded, key=remaining_s)
    return RateLimitVerdict(
        is_limited=True, retry_after_s=math.ceil(remaining_s(worst) * 1000) / 1000, rule=worst.rule
    )
