"""The levels feature's rules, as pure functions: XP, levels, who earns, rewards, announcements.

Owns the seed rules: 10 XP per message at most once per 60 s per member of a guild, and
``level = floor(sqrt(xp / 100))`` (level 1 at 100 XP, 2 at 400, 3 at 900); which messages
earn (human members only, outside ignored channels, without ignored roles); what a grant
that crosses levels reports (one level-up, however many levels); the member's full role
list after a level change (one member PATCH); and the level-up message, filled in without
``str.format``. No I/O: the ledger (`shoal.features.levels.ledger`) and the tap
(`shoal.features.levels.tap`) act on these decisions.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shoal.features.levels.settings import LevelsSettings
    from shoal.kit.messages import MessageFacts

__all__ = [
    "COOLDOWN_MS",
    "MESSAGE_MAX_CHARS",
    "XP_PER_LEVEL_UNIT",
    "XP_PER_MESSAGE",
    "LevelChange",
    "Progress",
    "announcement_channel",
    "earns_xp",
    "level_change",
    "level_of",
    "progress_of",
    "render_announcement",
    "reward_roles",
    "xp_for_level",
]

#: XP a message earns (at most once per cooldown).
XP_PER_MESSAGE: Final = 10
#: A member earns from one message per guild per minute: spam earns nothing more.
COOLDOWN_MS: Final = 60_000
#: ``level = floor(sqrt(xp / XP_PER_LEVEL_UNIT))``.
XP_PER_LEVEL_UNIT: Final = 100
#: Discord refuses longer message content.
MESSAGE_MAX_CHARS: Final = 2_000
_ELLIPSIS: Final = "\u2026"
#: The placeholders of a level-up template; any other brace stays as written.
_PLACEHOLDER: Final = re.compile(r"\{(user|level|name)\}")


@dataclasses.dataclass(frozen=True, slots=True)
class Progress:
    """Where a member stands within their level."""

    level: int
    """The level reached."""
    into: int
    """XP earned since reaching ``level``."""
    needed: int
    """XP from ``level`` to the next one (``into`` runs from 0 to ``needed - 1``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class LevelChange:
    """One grant (or admin change) moved a member to another level: reported once."""

    old_level: int
    new_level: int

    @property
    def is_up(self) -> bool:
        """True when the member went up (announce it); False after an admin lowered XP."""
        return self.new_level > self.old_level


def _check_xp(xp: int) -> int:
    if xp < 0:
        raise ValueError(f"XP cannot be negative, got {xp}")
    return xp


def level_of(xp: int) -> int:
    """Return the level of ``xp``: ``floor(sqrt(xp / 100))``, exactly, for any size of ``xp``.

    Raises:
        ValueError: ``xp`` is negative.
    """
    # isqrt(xp // 100) equals floor(sqrt(xp / 100)) and never suffers float rounding.
    return math.isqrt(_check_xp(xp) // XP_PER_LEVEL_UNIT)


def xp_for_level(level: int) -> int:
    """Return the XP at which ``level`` is reached (``100 * level**2``).

    Raises:
        ValueError: ``level`` is negative.
    """
    if level < 0:
        raise ValueError(f"levels start at 0, got {level}")
    return XP_PER_LEVEL_UNIT * level * level


def progress_of(xp: int) -> Progress:
    """Return the level of ``xp`` and how far it is to the next (for a rank card's bar)."""
    level = level_of(xp)
    start = xp_for_level(level)
    return Progress(level=level, into=xp - start, needed=xp_for_level(level + 1) - start)


def level_change(old_xp: int, new_xp: int) -> LevelChange | None:
    """Return the change of level from ``old_xp`` to ``new_xp``, or None when it is the same.

    One change however many levels were crossed: an admin adding 10,000 XP reports level 0
    to 10 once, not ten level-ups.
    """
    old_level, new_level = level_of(old_xp), level_of(new_xp)
    return None if old_level == new_level else LevelChange(old_level, new_level)


def earns_xp(facts: MessageFacts, settings: LevelsSettings) -> bool:
    """Return True when the message may earn XP (the cooldown aside).

    Bots, webhooks and DMs never earn; nor do messages in an ignored channel, or by a member
    holding an ignored role.
    """
    if not facts.is_from_member or facts.channel_id in settings.ignored_channel_ids:
        return False
    ignored_roles = settings.ignored_role_ids
    return not ignored_roles or not any(role in ignored_roles for role in facts.role_ids)


def reward_roles(
    current_role_ids: Iterable[int],
    level: int,
    rewards: Mapping[int, int],
    *,
    is_stacking: bool,
    is_removing_unearned: bool = False,
) -> tuple[int, ...] | None:
    """Return the member's full role list at ``level``, or None when it stays as it is.

    The caller applies a list with ONE member PATCH (the role-add route has a small bucket).

    Args:
        current_role_ids: The roles the member holds now (any order).
        level: The level the member is at.
        rewards: Level -> reward role id (`LevelsSettings.level_roles`).
        is_stacking: True keeps every reward up to ``level`` ("stack"); False keeps only
            the highest one reached and removes the lower ones ("replace").
        is_removing_unearned: Also remove rewards of levels above ``level`` (after an admin
            lowered or reset XP). False by default: a level-up never takes away a role an
            admin gave by hand.

    Returns:
        The current roles in their order, less the rewards no longer wanted, then the
        rewards gained in level order; None when the set of roles does not change.
    """
    current = tuple(dict.fromkeys(current_role_ids))
    reached = sorted((lvl, role) for lvl, role in rewards.items() if lvl <= level)
    reached_roles = [role for _, role in reached]
    wanted = set(reached_roles if is_stacking else reached_roles[-1:])
    if is_removing_unearned:
        unwanted = set(rewards.values()) - wanted
    else:
        unwanted = {role for role in reached_roles if role not in wanted}
    kept = [role for role in current if role not in unwanted]
    held = set(kept)
    added = [role for role in dict.fromkeys(reached_roles) if role in wanted and role not in held]
    new = (*kept, *added)
    return None if set(new) == set(current) else new


def announcement_channel(settings: LevelsSettings, message_channel_id: int) -> int | None:
    """Return where to announce a level-up: the set channel, the message's, or None (off)."""
    if not settings.announce:
        return None
    return settings.announce_channel_id or message_channel_id


def render_announcement(template: str, *, user_mention: str, name: str, level: int) -> str:
    """Fill in ``{user}``, ``{name}`` and ``{level}`` in an admin's template, safely.

    Not ``str.format``: any other brace (``{0}``, ``{user.id}``, ``{``) stays as written and
    cannot reach an attribute; a value holding a placeholder (a name ``{level}``) is not
    filled in again. The result is cut to Discord's 2,000 characters. The caller still
    sends it with mentions limited to the member (a template may hold ``@everyone``).
    """
    values = {"user": user_mention, "name": name, "level": str(level)}
    text = _PLACEHOLDER.sub(lambda match: values[match[1]], template)
    if len(text) > MESSAGE_MAX_CHARS:
        return text[: MESSAGE_MAX_CHARS - len(_ELLIPSIS)] + _ELLIPSIS
    return text
