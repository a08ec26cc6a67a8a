"""Application commands, global and per guild: list, create, bulk overwrite, edit, delete.

Definitions are checked by :mod:`.command_rules` and kept in ``Application.commands``
or ``Guild.commands``. As on Discord, creating a command whose type and name already
exist updates it (200 instead of 201), and a bulk overwrite keeps the ids of the
commands it matches by type and name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord.rest import access, command_rules, errors, limits
from shoal_sim.discord.rest.calls import json_response, no_content
from shoal_sim.discord.rest.endpoints import Endpoint

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]

JSON = dict[str, Any]


def _scope(call: Call) -> tuple[dict[int, JSON], int | None]:
    """Return the command store the path names and its guild id (None for global)."""
    app = call.bot
    if call.snowflake("application_id") != app.id:
        raise errors.DiscordError(errors.MISSING_ACCESS)
    if "guild_id" in call.request.match_info:
        guild = access.guild_of(call.world, app, call.snowflake("guild_id"))
        return guild.commands, guild.id
    return app.commands, None


def _command(call: Call, store: dict[int, JSON]) -> JSON:
    command = store.get(call.snowflake("command_id"))
    if command is None:
        raise errors.DiscordError(errors.UNKNOWN_COMMAND)
    return command


def _find(store: dict[int, JSON], command_type: int, name: object) -> JSON | None:
    for command in store.values():
        if command["type"] == command_type and command["name"] == name:
            return command
    return None


async def list_commands(call: Call) -> web.Response:
    """GET .../commands."""
    store, _ = _scope(call)
    return json_response(list(store.values()))


async def get_command(call: Call) -> web.Response:
    """GET .../commands/{command_id}."""
    store, _ = _scope(call)
    return json_response(_command(call, store))


async def create_command(call: Call) -> web.Response:
    """POST .../commands: create, or update the command of the same type and name."""
    store, guild_id = _scope(call)
    body = await call.object_body()
    command_rules.check_command(body).raise_if_any()
    command_type = body.get("type") or command_rules.CHAT_INPUT
    existing = _find(store, command_type, body["name"])
    if existing is None:
        same_type = sum(1 for c in store.values() if c["type"] == command_type)
        cap = (
            command_rules.MAX_CHAT_INPUT_COMMANDS
            if command_type == command_rules.CHAT_INPUT
            else command_rules.MAX_CONTEXT_MENU_COMMANDS
        )
        if same_type >= cap:
            raise errors.DiscordError(command_rules.TOO_MANY_COMMANDS)
    command_id = call.world.ids.next_id() if existing is None else int(existing["id"])
    stored = command_rules.stored_command(
        body,
        command_id=command_id,
        application_id=call.bot.id,
        version=call.world.ids.next_id(),
        guild_id=guild_id,
    )
    store[command_id] = stored
    return json_response(stored, 201 if existing is None else 200)


async def overwrite_commands(call: Call) -> web.Response:
    """PUT .../commands: replace every command with the list given."""
    store, guild_id = _scope(call)
    bodies = await call.array_body()
    command_rules.check_bulk(bodies).raise_if_any()
    replaced: dict[int, JSON] = {}
    for body in bodies:
        existing = _find(store, body.get("type") or command_rules.CHAT_INPUT, body["name"])
        command_id = call.world.ids.next_id() if existing is None else int(existing["id"])
        replaced[command_id] = command_rules.stored_command(
            body,
            command_id=command_id,
            application_id=call.bot.id,
            version=call.world.ids.next_id(),
            guild_id=guild_id,
        )
    store.clear()
    store.update(replaced)
    return json_response(list(replaced.values()))


async def edit_command(call: Call) -> web.Response:
    """PATCH .../commands/{command_id}: change some fields of a command."""
    store, guild_id = _scope(call)
    command = _command(call, store)
    patch = await call.object_body()
    merged = command | {k: v for k, v in patch.items() if k not in ("id", "type")}
    command_rules.check_command(merged).raise_if_any()
    clash = _find(store, merged["type"], merged["name"])
    if clash is not None and clash["id"] != command["id"]:
        raise errors.invalid_field(
            ("name",),
            "APPLICATION_COMMANDS_DUPLICATE_NAME",
            "Application command names must be unique",
        )
    stored = command_rules.stored_command(
        merged,
        command_id=int(command["id"]),
        application_id=call.bot.id,
        version=call.world.ids.next_id(),
        guild_id=guild_id,
    )
    store[int(command["id"])] = stored
    return json_response(stored)


async def delete_command(call: Call) -> web.Response:
    """DELETE .../commands/{command_id}."""
    store, _ = _scope(call)
    command = _command(call, store)
    del store[int(command["id"])]
    return no_content()


_GLOBAL: Final = "/applications/{application_id}/commands"
_GUILD: Final = "/applications/{application_id}/guilds/{guild_id}/commands"
_GUILD_MAJOR: Final = ("guild_id",)

ENDPOINTS: Final = (
    Endpoint("GET", _GLOBAL, list_commands, limits.READ),
    Endpoint("POST", _GLOBAL, create_command, limits.COMMAND_WRITE),
    Endpoint("PUT", _GLOBAL, overwrite_commands, limits.COMMAND_WRITE),
    Endpoint("GET", _GLOBAL + "/{command_id}", get_command, limits.READ),
    Endpoint("PATCH", _GLOBAL + "/{command_id}", edit_command, limits.COMMAND_WRITE),
    Endpoint("DELETE", _GLOBAL + "/{command_id}", delete_command, limits.COMMAND_WRITE),
    Endpoint("GET", _GUILD, list_commands, limits.READ, _GUILD_MAJOR),
    Endpoint("POST", _GUILD, create_command, limits.COMMAND_WRITE, _GUILD_MAJOR),
    Endpoint("PUT", _GUILD, overwrite_commands, limits.COMMAND_WRITE, _GUILD_MAJOR),
    Endpoint("GET", _GUILD + "/{command_id}", get_command, limits.READ, _GUILD_MAJOR),
    Endpoint("PATCH", _GUILD + "/{command_id}", edit_command, limits.COMMAND_WRITE, _GUILD_MAJOR),
    Endpoint(
        "DELETE", _GUILD + "/{command_id}", delete_command, limits.COMMAND_WRITE, _GUILD_MAJOR
    ),
)
