"""How Shoal answers: replies that complete a deferral, error and rate-limit replies.

Owns the wording users see from the middleware and :func:`reply`, the one call a handler
needs: it answers, or completes the automatic deferral by editing the "thinking..."
message. Does not own when to reply (handlers and the middleware decide).
"""

from __future__ import annotations

import math
import secrets
from typing import TYPE_CHECKING, Final

import hikari

from shoal.interactions.deferring import is_only_deferred

if TYPE_CHECKING:
    from collections.abc import Sequence

    import arc

__all__ = [
    "new_reference",
    "reply",
    "reply_error",
    "reply_rate_limited",
    "reply_unanswered",
]

#: No 0/O or 1/I: a user reads the reference out to support.
_REFERENCE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_REFERENCE_LENGTH: Final = 6


def new_reference() -> str:
    """Return a short random reference tying an error reply to its log line."""
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))


async def reply(
    ctx: arc.GatewayContext,
    content: str | hikari.UndefinedType = hikari.UNDEFINED,
    *,
    embed: hikari.Embed | hikari.UndefinedType = hikari.UNDEFINED,
    attachment: hikari.Resourceish | hikari.UndefinedType = hikari.UNDEFINED,
    components: Sequence[hikari.api.ComponentBuilder] | hikari.UndefinedType = hikari.UNDEFINED,
    is_ephemeral: bool = False,
) -> None:
    """Answer ``ctx``: edit the automatic deferral when there was one, else respond.

    After a deferral the message's visibility is already fixed, so ``is_ephemeral`` only
    applies to a fresh response or a follow-up.
    """
    if is_only_deferred(ctx):
        await ctx.edit_initial_response(
            content, embed=embed, attachment=attachment, components=components
        )
        return
    flags = hikari.MessageFlag.EPHEMERAL if is_ephemeral else hikari.UNDEFINED
    await ctx.respond(
        content, embed=embed, attachment=attachment, components=components, flags=flags
    )


async def reply_error(ctx: arc.GatewayContext, reference: str) -> None:
    """Tell the user something went wrong, with the reference of the logged error."""
    await reply(ctx, f"Something went wrong (reference {reference}).", is_ephemeral=True)


async def reply_rate_limited(ctx: arc.GatewayContext, retry_after_s: float) -> None:
    """Ask the user, privately, to wait before using the command again."""
    wait_s = max(1, math.ceil(retry_after_s))
    unit = "second" if wait_s == 1 else "seconds"
    await reply(
        ctx,
        f"You're using /{ctx.command.name} a little too quickly. "
        f"Please try again in {wait_s} {unit}.",
        is_ephemeral=True,
    )


async def reply_unanswered(ctx: arc.GatewayContext) -> None:
    """Close an interaction whose handler returned without answering."""
    await reply(ctx, "Done.", is_ephemeral=True)
