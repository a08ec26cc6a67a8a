"""The exactly-once claims of onboarding's member listeners: which events are "the same". Pure.

Member events carry no id, yet during a reshard two generations both see each one, and a
RESUME may replay it. :func:`join_claim` names a join by guild, user and join time (a
rejoin is a new join); :func:`update_claim` names an update by the same and by what
onboarding decides from (``pending`` and the roles), so that the screening completion
is handled once while a later update that changed something onboarding reads is not
mistaken for it. The ids are 63-bit digests (``EventClaims`` takes an int).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["JOIN_CLAIM", "UPDATE_CLAIM", "join_claim", "update_claim"]

JOIN_CLAIM: Final = "onboarding-join"
UPDATE_CLAIM: Final = "onboarding-update"
_ID_BITS: Final = 63


def _digest(*parts: object) -> int:
    text = ":".join(str(part) for part in parts).encode()
    value = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")
    return value >> (64 - _ID_BITS)


def join_claim(guild_id: int, user_id: int, joined_at_ms: int | None) -> tuple[str, int]:
    """Return the claim of a member join (GUILD_MEMBER_ADD)."""
    return JOIN_CLAIM, _digest(guild_id, user_id, joined_at_ms)


def update_claim(
    guild_id: int,
    user_id: int,
    joined_at_ms: int | None,
    *,
    is_pending: bool | None,
    role_ids: Iterable[int],
) -> tuple[str, int]:
    """Return the claim of a member update (GUILD_MEMBER_UPDATE), by what onboarding reads."""
    roles = ",".join(str(role) for role in sorted(set(role_ids)))
    return UPDATE_CLAIM, _digest(guild_id, user_id, joined_at_ms, is_pending, roles)
