"""Whether a module is switched on for a guild: the question the middleware asks.

Every command, component and gated listener of a switchable module asks
:class:`FeatureSwitch` before it runs; a module switched off answers with a polite
ephemeral note (:func:`shoal.interactions.components.module_off_reply`) and its listeners
skip the guild. The answer comes from the guild's cached settings
(``shoal.kit.settings.FeatureSettings``), so it costs a dict lookup on a warm cache.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["FeatureSwitch"]


class FeatureSwitch(Protocol):
    """Reads modules' per-guild on/off flags."""

    async def is_enabled(self, guild_id: int, module: str, *, is_on_by_default: bool) -> bool:
        """Return whether ``module`` is on in ``guild_id`` (its default when never set)."""
        ...
