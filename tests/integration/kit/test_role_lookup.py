"""The bot's standing among a guild's roles, read through real hikari REST on the simulator."""

from __future__ import annotations

import asyncio

import hikari

from shoal.kit.role_lookup import RoleLookup
from shoal.kit.roles import Refusal, RefusalReason
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN
from tests.integration.interactions.workers import command_world


async def test_the_bot_top_role_and_permissions_are_read_and_cached_when_looked_up() -> None:
    async with running_simulator(command_world(roles_per_guild=3)) as sim:
        app = hikari.RESTApp(url=sim.rest_url)
        await app.start()
        try:
            async with app.acquire(DEFAULT_TOKEN, hikari.TokenType.BOT) as rest:
                lookup = RoleLookup(rest, ttl_s=60)
                guild = min(sim.world.guilds)
                first, second = await asyncio.gather(lookup.of(guild), lookup.of(guild))
                again = await lookup.of(guild)
        finally:
            await app.close()
    assert first is second is again  # concurrent lookups share one fetch; then cached
    assert first.top is not None
    assert first.top.is_managed  # the bot's own role, as Discord gives a bot on joining
    assert first.permissions & hikari.Permissions.MANAGE_ROLES
    lower = next(role for role in first.roles.values() if role.name == "role-2")
    below = first.refusal(lower.id)
    assert below is None or (
        isinstance(below, Refusal) and below.reason is not RefusalReason.NOT_BELOW_BOT
    )
    at_top = first.refusal(first.top.id)
    assert isinstance(at_top, Refusal)
    assert at_top.reason is RefusalReason.MANAGED
    everyone = first.refusal(guild)
    assert isinstance(everyone, Refusal)
    assert everyone.reason is RefusalReason.EVERYONE
    assert first.refusal(1) == "That role no longer exists: it was deleted."
