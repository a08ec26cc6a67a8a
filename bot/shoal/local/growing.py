"""Growing the simulated bot: ``shoal local up --grow`` adds guilds until the fleet reshards.

Owns :class:`GuildGrowth`: every few seconds, while growth is on, it has the bot join new
guilds through the simulator's control API (``POST /_sim/guilds``) at a steady rate, and
counts them. Whether growth is on is decided by :func:`shoal.local.reshards.is_growing`
(until a reshard starts); a failed call is tried again at the next step. Does not import
the simulator: it talks to it over HTTP only.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final

import aiohttp

from shoal.local.reshards import guilds_due

if TYPE_CHECKING:
    from shoal.local.simulating import SimulatorControl

__all__ = ["GuildGrowth"]

_STEP_S: Final = 1.0  # one POST a second: steady growth, small overshoot once the plan moves


class GuildGrowth:
    """Adds guilds to the simulated bot at ``rate_per_s`` while growth is on."""

    __slots__ = (
        "_added_since",
        "_control",
        "_last_step_s",
        "_members",
        "_rate_per_s",
        "_since_s",
        "added",
    )

    def __init__(self, control: SimulatorControl, *, rate_per_s: float, members: int) -> None:
        """Grow through ``control`` by ``rate_per_s`` guilds of ``members`` members."""
        self._control = control
        self._rate_per_s = rate_per_s
        self._members = members
        self._since_s: float | None = None
        self._last_step_s = 0.0
        self._added_since = 0
        self.added = 0
        """Guilds added since the run started."""

    @property
    def rate_per_s(self) -> float:
        """Guilds added per second while growing."""
        return self._rate_per_s

    async def keep_growing(self, now_s: float, *, is_on: bool) -> None:
        """Add the guilds due since the last step when growth is on (a pause resets the pace)."""
        if not is_on:
            self._since_s = None
            return
        if self._since_s is None:
            self._since_s, self._last_step_s, self._added_since = now_s, now_s, 0
            return
        if now_s - self._last_step_s < _STEP_S:
            return
        self._last_step_s = now_s
        count = guilds_due(
            rate_per_s=self._rate_per_s, elapsed_s=now_s - self._since_s, added=self._added_since
        )
        if count == 0:
            return
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            await self._control.add_guilds(count, members=self._members)
            self._added_since += count
            self.added += count
