"""The levels feature: XP for chatting, levels, level role rewards and a leaderboard.

Modules: `rules` (pure: XP, levels, eligibility, rewards, announcements), `settings` (a
guild's ``levels`` settings), `ledger` (atomic grants and the board in Redis), `flushing`
(write-behind of XP to PostgreSQL), `tap` (the message hot path), `card` (the rank card).
"""

from __future__ import annotations

__all__: list[str] = []
