"""``shoal sync-commands``: register every module's commands with Discord, once.

Workers never sync (``autosync=False``): with hundreds of pods starting together, each
would otherwise fetch and rewrite the command list. One job per release calls
:func:`sync_commands`, which replaces the bot's global commands with the modules' commands
in a single bulk overwrite (``PUT /applications/{id}/commands``); running it twice is
harmless.

Builds each command's payload with arc's private ``_build()`` (hikari-arc 2.3 is pinned;
``tests/integration/interactions/test_syncing.py`` covers it), so the registered shape is
exactly the one arc's own sync would send.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import arc
import hikari

from shoal.interactions.modules import load_modules, top_level_commands

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shoal.interactions.modules import Module

__all__ = ["command_builders", "sync_commands"]

logger = logging.getLogger(__name__)


def command_builders(token: str, modules: Sequence[Module]) -> list[hikari.api.CommandBuilder]:
    """Return the payload builders of every module's top-level commands.

    The modules are loaded into a throwaway arc client on a bot that is never started
    (arc resolves each command's settings through its client).

    Raises:
        ValueError: when two modules share a name or a command name, or a command is
            limited to some guilds (only global commands are synced).
    """
    bot = hikari.GatewayBot(
        token,
        banner=None,
        logs=None,
        suppress_optimization_warning=True,
        intents=hikari.Intents.NONE,
    )
    client = arc.GatewayClient(bot, autosync=False, autodefer=False)
    load_modules(client, modules, gate=None)  # never started: listeners are not needed
    builders: list[hikari.api.CommandBuilder] = []
    for command in top_level_commands(client):
        if command.guilds:
            msg = f"/{command.name} is limited to some guilds; sync-commands syncs global ones"
            raise ValueError(msg)
        builders.append(command._build())  # noqa: SLF001 - see the module docstring
    return builders


async def sync_commands(token: str, rest_url: str, modules: Sequence[Module]) -> int:
    """Replace the bot's global commands with the modules' commands; return how many.

    Args:
        token: the bot token (never logged).
        rest_url: the REST base URL ending in ``/api/v10`` (Discord, a proxy or the
            simulator).
        modules: fresh modules (from the features' factories) to register.
    """
    builders = command_builders(token, modules)
    rest_app = hikari.RESTApp(url=rest_url)
    await rest_app.start()
    try:
        async with rest_app.acquire(token, hikari.TokenType.BOT) as rest:
            application = await rest.fetch_application()
            registered = await rest.set_application_commands(application, builders)
    finally:
        await rest_app.close()
    names = sorted(command.name for command in registered)
    logger.info(
        "registered %d global commands: %s",
        len(registered),
        ", ".join(names),
        extra={"application_id": int(application.id)},
    )
    return len(registered)
