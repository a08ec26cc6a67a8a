"""Commands that exercise the middleware: one that raises, one that is slow, and more."""

from __future__ import annotations

import asyncio
from typing import Final

import arc
import hikari
import redis.exceptions

from shoal.interactions.deferring import open_modal
from shoal.interactions.limits import RateLimitRule, RateLimitScope
from shoal.interactions.modules import Module
from shoal.interactions.replying import reply

__all__ = ["SLOW_S", "middleware_module"]

SLOW_S: Final = 0.7
"""How long the slow commands run: past the short deadline the tests give the simulator."""


async def boom(_: arc.GatewayContext) -> None:
    """Raise, as a handler with a bug does."""
    msg = "the handler has a bug"
    raise RuntimeError(msg)


async def slow(ctx: arc.GatewayContext) -> None:
    """Answer after :data:`SLOW_S`."""
    await asyncio.sleep(SLOW_S)
    await reply(ctx, "finally done")


async def slow_boom(_: arc.GatewayContext) -> None:
    """Raise after :data:`SLOW_S`."""
    await asyncio.sleep(SLOW_S)
    msg = "the slow handler has a bug"
    raise RuntimeError(msg)


async def limited(ctx: arc.GatewayContext) -> None:
    """Answer at once (its module allows one use per user per minute)."""
    await reply(ctx, "allowed")


async def silent(_: arc.GatewayContext) -> None:
    """Return without answering."""


async def outage(_: arc.GatewayContext) -> None:
    """Fail as a handler does when Redis cannot be reached."""
    msg = "Error 111 connecting to 127.0.0.1:1. Connection refused."
    raise redis.exceptions.ConnectionError(msg)


async def form(ctx: arc.GatewayContext) -> None:
    """Answer with a modal (a form), as an admin command asking for long text does."""
    field = hikari.impl.ModalActionRowBuilder().add_text_input(
        "text", "Text", style=hikari.TextInputStyle.PARAGRAPH
    )
    await open_modal(ctx, "A form", "testform:1", [field])


def middleware_module() -> Module:
    """Return a fresh module with the commands above."""
    plugin = arc.GatewayPlugin("testing")
    plugin.include(arc.slash_command("boom", "Raise.")(boom))
    plugin.include(arc.slash_command("slow", "Answer late.")(slow))
    plugin.include(arc.slash_command("slow-boom", "Raise late.")(slow_boom))
    plugin.include(arc.slash_command("limited", "Once a minute.")(limited))
    plugin.include(arc.slash_command("silent", "Never answer.")(silent))
    plugin.include(arc.slash_command("form", "Open a form.")(form))
    plugin.include(arc.slash_command("outage", "Fail to reach Redis.")(outage))
    return Module(
        name="testing",
        plugins=(plugin,),
        rate_limits={"limited": (RateLimitRule(RateLimitScope.USER, limit=1, window_s=60.0),)},
    )
