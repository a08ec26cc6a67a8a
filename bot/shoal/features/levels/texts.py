"""What the levels commands say: embeds' text and pages, as pure functions (no I/O)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from shoal.features.levels.rules import progress_of

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "PAGE_SIZE",
    "leaderboard_lines",
    "page_count",
    "progress_bar",
    "rank_summary",
]

PAGE_SIZE: Final = 10
_BAR_CELLS: Final = 12
_MEDALS: Final = {1: "🥇", 2: "🥈", 3: "🥉"}


def page_count(members: int, size: int = PAGE_SIZE) -> int:
    """Return how many pages ``members`` fill (at least one, shown empty)."""
    return max(1, math.ceil(members / size))


def progress_bar(into: int, needed: int, cells: int = _BAR_CELLS) -> str:
    """Return a text bar of the progress to the next level (``▰▰▰▱▱▱``)."""
    filled = 0 if needed <= 0 else min(cells, into * cells // needed)
    return "▰" * filled + "▱" * (cells - filled)


def rank_summary(*, rank: int, members: int, xp: int) -> str:
    """Return the figures of a rank card as text (the embed shows them too)."""
    progress = progress_of(xp)
    return (
        f"**Level {progress.level}** · rank **#{rank:,}** of {members:,}\n"
        f"{progress_bar(progress.into, progress.needed)} "
        f"{progress.into:,} / {progress.needed:,} XP to level {progress.level + 1}\n"
        f"Total: {xp:,} XP"
    )


def leaderboard_lines(rows: Sequence[tuple[int, int, int]]) -> str:
    """Return one line per (rank, user id, xp): medal or rank, mention, level, XP."""
    if not rows:
        return "Nobody has earned XP here yet: chat to get on the board."
    lines = []
    for rank, user_id, xp in rows:
        place = _MEDALS.get(rank, f"`#{rank}`")
        lines.append(f"{place} <@{user_id}> · level {progress_of(xp).level} · {xp:,} XP")
    return "\n".join(lines)
