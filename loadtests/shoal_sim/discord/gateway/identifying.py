"""The IDENTIFY rules: pure checks that decide how an IDENTIFY is answered.

Order follows Discord: authentication first, then the session start budget (every
authenticated IDENTIFY spends one), then the shard pair, intents, guilds per shard and
finally the per-bucket rate limit.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.gateway.closing import CloseCode

__all__ = ["IdentifyLimits", "IdentifyOutcome", "IdentifyRequest", "Verdict", "judge_shape"]


class Verdict(enum.Enum):
    """What happens to an IDENTIFY besides a close code."""

    ACCEPT = "accept"
    CLOSE = "close"
    """Close the connection with :attr:`IdentifyOutcome.close_code`."""
    INVALID_SESSION = "invalid_session"
    """Send op 9 ``d:false`` (bucket already used in this window)."""
    EXHAUSTED = "exhausted"
    """No session start left: Discord ends every session and resets the token."""


@dataclasses.dataclass(frozen=True, slots=True)
class IdentifyOutcome:
    """The decision about one IDENTIFY."""

    verdict: Verdict
    close_code: CloseCode | None = None
    detail: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class IdentifyRequest:
    """The parts of an IDENTIFY payload the rules look at."""

    token: str
    shard_id: int
    shard_count: int
    intents: int


@dataclasses.dataclass(frozen=True, slots=True)
class IdentifyLimits:
    """The limits one application's IDENTIFY is judged against."""

    privileged_intents: int
    max_guilds_per_shard: int
    shard_count_multiple: int
    max_concurrency: int
    identify_window_s: float


def judge_shape(payload: Any) -> IdentifyRequest | IdentifyOutcome:  # noqa: ANN401 - raw JSON
    """Parse an IDENTIFY ``d``; a malformed one is a decode error (4002)."""
    if not isinstance(payload, dict):
        return IdentifyOutcome(Verdict.CLOSE, CloseCode.DECODE_ERROR, "d must be an object")
    token = payload.get("token")
    shard = payload.get("shard", [0, 1])
    intents = payload.get("intents")
    if not isinstance(token, str) or not isinstance(payload.get("properties"), dict):
        return IdentifyOutcome(
            Verdict.CLOSE, CloseCode.DECODE_ERROR, "token and properties are required"
        )
    if (
        not isinstance(shard, list)
        or len(shard) != 2  # noqa: PLR2004 - [id, count]
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
    ):
        return IdentifyOutcome(Verdict.CLOSE, CloseCode.INVALID_SHARD, "shard must be [id, count]")
    if not isinstance(intents, int) or isinstance(intents, bool):
        return IdentifyOutcome(Verdict.CLOSE, CloseCode.INVALID_INTENTS, "intents are required")
    return IdentifyRequest(token=token, shard_id=shard[0], shard_count=shard[1], intents=intents)


def judge_shard(
    request: IdentifyRequest, limits: IdentifyLimits, guilds_on_shard: int
) -> IdentifyOutcome | None:
    """Check the shard pair, intents and guild count; None when all pass."""
    shard_id, count = request.shard_id, request.shard_count
    if count < 1 or not 0 <= shard_id < count:
        return IdentifyOutcome(
            Verdict.CLOSE,
            CloseCode.INVALID_SHARD,
            f"shard [{shard_id}, {count}] is not a valid pair",
        )
    if count % limits.shard_count_multiple:
        return IdentifyOutcome(
            Verdict.CLOSE,
            CloseCode.INVALID_SHARD,
            f"shard count must be a multiple of {limits.shard_count_multiple}",
        )
    if request.intents < 0 or request.intents & ~intent_bits.ALL_VALID:
        return IdentifyOutcome(
            Verdict.CLOSE, CloseCode.INVALID_INTENTS, f"unknown intent bits in {request.intents}"
        )
    if request.intents & intent_bits.PRIVILEGED & ~limits.privileged_intents:
        return IdentifyOutcome(
            Verdict.CLOSE,
            CloseCode.DISALLOWED_INTENTS,
            "privileged intents not enabled for this application",
        )
    if guilds_on_shard > limits.max_guilds_per_shard:
        return IdentifyOutcome(
            Verdict.CLOSE,
            CloseCode.SHARDING_REQUIRED,
            f"shard {shard_id}/{count} would hold {guilds_on_shard} guilds "
            f"(max {limits.max_guilds_per_shard})",
        )
    return None


def bucket_of(shard_id: int, max_concurrency: int) -> int:
    """Return the identify rate-limit key of a shard (``shard_id % max_concurrency``)."""
    return shard_id % max_concurrency


def is_bucket_free(last_identify_at: float | None, now: float, window_s: float) -> bool:
    """Return whether a bucket may IDENTIFY at ``now`` given its last IDENTIFY."""
    return last_identify_at is None or now - last_identify_at >= window_s
