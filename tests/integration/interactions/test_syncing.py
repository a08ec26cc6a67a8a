"""``sync-commands`` against the simulator: one bulk overwrite with every module's commands."""

from __future__ import annotations

import hikari

from shoal.features.core import core_module
from shoal.interactions.syncing import sync_commands
from shoal.kit.building import declaring_kit
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN
from tests.integration.interactions.commands import middleware_module
from tests.integration.interactions.workers import command_world


async def _registered(rest_url: str) -> dict[str, str]:
    app = hikari.RESTApp(url=rest_url)
    await app.start()
    try:
        async with app.acquire(DEFAULT_TOKEN, hikari.TokenType.BOT) as rest:
            application = await rest.fetch_application()
            commands = await rest.fetch_application_commands(application)
    finally:
        await app.close()
    return {command.name: getattr(command, "description", "") for command in commands}


async def test_sync_commands_registers_every_module_command_when_run() -> None:
    async with running_simulator(command_world()) as sim:
        count = await sync_commands(
            DEFAULT_TOKEN, sim.rest_url, [core_module(declaring_kit("test")), middleware_module()]
        )
        registered = await _registered(sim.rest_url)
        again = await sync_commands(
            DEFAULT_TOKEN, sim.rest_url, [core_module(declaring_kit("test"))]
        )
        after_again = await _registered(sim.rest_url)
    assert count == 10
    assert registered["ping"] == "Show the gateway and REST latency."
    assert set(registered) == {
        "ping",
        "shard",
        "settings",
        "boom",
        "slow",
        "slow-boom",
        "limited",
        "silent",
        "form",
        "outage",
    }
    assert again == 3
    assert set(after_again) == {"ping", "shard", "settings"}
