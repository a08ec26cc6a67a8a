"""Automatic deferral: a handler that has not answered within ``after_s`` gets a type 5.

Discord drops an interaction that gets no initial response within 3 s; a deferred one
("thinking...") may be completed for 15 min. arc's own auto-defer waits a fixed 2 s, so
Shoal turns it off and runs this one, whose delay is a setting (tests use 0.2 s).

Uses two private seams of hikari-arc 2.3 (pinned; covered by
``tests/unit/interactions/test_deferring.py``): the context's ``_response_lock``, which
every arc response method holds while it answers, so a deferral can never race a reply
into a double acknowledgement; and ``_issued_response``, set after deferring so that
arc's later responses become edits and follow-ups. A deferral leaves ``ctx.responses``
empty (it created no message), which is how :func:`is_only_deferred` recognises it; a
modal does too, so a command opens one with :func:`open_modal`, which remembers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import hikari

if TYPE_CHECKING:
    from collections.abc import Sequence

    import arc

__all__ = ["AutoDefer", "is_only_deferred", "open_modal"]

logger = logging.getLogger(__name__)

_MODALS: dict[int, None] = {}
"""Interaction ids answered with a modal (issued, no message, and yet answered), oldest
first; only the latest :data:`_MODALS_KEPT` are kept (a context lives for seconds)."""
_MODALS_KEPT = 10_000


def is_only_deferred(ctx: arc.GatewayContext) -> bool:
    """Return whether the interaction's only response is a deferral (not a modal)."""
    return ctx.issued_response and not ctx.responses and ctx.interaction.id not in _MODALS


async def open_modal(
    ctx: arc.GatewayContext,
    title: str,
    custom_id: str,
    components: Sequence[hikari.api.ComponentBuilder],
) -> None:
    """Answer a slash command with a modal (its initial response: within 3 s, not deferred).

    The middleware then counts the command answered; a modal opened with arc's own
    ``ctx.respond_with_modal`` would look like a deferral left unanswered.
    """
    await ctx.respond_with_modal(title, custom_id, components=components)
    _MODALS[ctx.interaction.id] = None
    if len(_MODALS) > _MODALS_KEPT:
        del _MODALS[next(iter(_MODALS))]


class AutoDefer:
    """Defers ``ctx`` after ``after_s`` unless it has been answered by then."""

    def __init__(self, ctx: arc.GatewayContext, *, after_s: float) -> None:
        """Start the timer on the running loop."""
        self._ctx = ctx
        self._is_waiting = True
        self.is_deferred = False
        """Whether this deferral acknowledged the interaction."""
        self._task = asyncio.create_task(self._run(after_s), name="shoal-auto-defer")

    async def stop(self) -> None:
        """Cancel the timer, or wait for a deferral already on its way (never cut it off)."""
        if self._is_waiting:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self, after_s: float) -> None:
        await asyncio.sleep(after_s)
        self._is_waiting = False  # from here on, stop() waits instead of cancelling
        ctx = self._ctx
        async with ctx._response_lock:  # noqa: SLF001 - see the module docstring
            if ctx.issued_response:
                return
            try:
                await ctx.interaction.create_initial_response(
                    hikari.ResponseType.DEFERRED_MESSAGE_CREATE
                )
            except Exception:  # a failed deferral is logged; the handler goes on
                logger.warning(
                    "could not defer /%s",
                    ctx.command.name,
                    exc_info=True,
                    extra={"interaction_id": ctx.interaction.id, "guild_id": ctx.guild_id},
                )
                return
            ctx._issued_response = True  # noqa: SLF001 - see the module docstring
            self.is_deferred = True
        logger.debug("deferred /%s", ctx.command.name)
