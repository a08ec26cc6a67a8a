"""The control API under ``/_sim``: drive the simulated Discord from tests and load tests.

Nothing here exists on the real Discord. It injects events (guild growth, messages,
interactions), forces gateway trouble (op 7, op 9, close codes, dropped connections),
reads back what the bot did, reports statistics and runs the load generator. Bad input
gets HTTP 400 with ``{"error": "..."}``; unknown things get 404.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web

from shoal_sim.discord import events, payloads
from shoal_sim.discord.entities import Message
from shoal_sim.discord.loadgen import LoadGenerator, LoadSpec
from shoal_sim.discord.world import generated_channel_id, generated_member_id

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shoal_sim.discord.entities import Application, Guild, Interaction
    from shoal_sim.discord.server import Simulator

__all__ = ["add_routes"]

JSON = dict[str, Any]
_INTERACTION_TYPES: Final = {"command": 2, "component": 3, "autocomplete": 4, "modal": 5}
_COMPONENT_TYPES: Final = {
    "button": 2,
    "string_select": 3,
    "user_select": 5,
    "role_select": 6,
    "mentionable_select": 7,
    "channel_select": 8,
}
_FORCE_ACTIONS: Final = frozenset(
    {"reconnect", "invalidate", "invalidate-resumable", "close", "drop"}
)
#: Upper bound of ``members`` for a guild added through the API: keeps generated member ids
#: inside the guild's own id space and one materialisation bounded.
_MAX_ADDED_MEMBERS: Final = 1_000_000


class _BadInputError(Exception):
    """Raised by parsers; becomes a 400 with the message."""


def _json(data: Any, status: int = 200) -> web.Response:  # noqa: ANN401 - any JSON
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _error(message: str, status: int = 400) -> web.Response:
    return _json({"error": message}, status)


async def _body(request: web.Request) -> JSON:
    if not request.can_read_body:
        return {}
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        msg = f"body is not valid JSON: {exc}"
        raise _BadInputError(msg) from exc
    if not isinstance(body, dict):
        msg = "body must be a JSON object"
        raise _BadInputError(msg)
    return body


def _int(body: JSON, key: str, default: int | None = None) -> int:
    value = body.get(key, default)
    if value is None:
        msg = f"{key} is required"
        raise _BadInputError(msg)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        msg = f"{key} must be an integer (snowflakes may be strings), got {value!r}"
        raise _BadInputError(msg) from exc


def _optional_int(body: JSON, key: str) -> int | None:
    return None if body.get(key) is None else _int(body, key)


class _Control:
    """Handlers bound to one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.loads: list[LoadGenerator] = []
        self._load_tasks: list[asyncio.Task[None]] = []

    def _sim_of(self, body: JSON) -> Application:
        app_id = _optional_int(body, "application_id")
        apps = self.sim.world.applications
        if app_id is None:
            return next(iter(apps.values()))
        if app_id not in apps:
            msg = f"unknown application {app_id}"
            raise _BadInputError(msg)
        return apps[app_id]

    def _app_at(self, request: web.Request) -> Application:
        """Return the application named in the path; an unknown one is a 404."""
        app_id = _int(dict(request.match_info), "application_id")
        app = self.sim.world.applications.get(app_id)
        if app is None:
            raise web.HTTPNotFound(
                text=orjson.dumps({"error": f"unknown application {app_id}"}).decode(),
                content_type="application/json",
            )
        return app

    def _guild(self, guild_id: int) -> Guild:
        guild = self.sim.world.guild(guild_id)
        if guild is None:
            raise web.HTTPNotFound(
                text=orjson.dumps({"error": f"unknown guild {guild_id}"}).decode(),
                content_type="application/json",
            )
        return guild

    # -- info and stats ---------------------------------------------------------------

    async def info(self, _: web.Request) -> web.Response:
        sim = self.sim
        settings = dataclasses.asdict(sim.settings)
        settings.pop("tokens", None)
        return _json(
            {
                "rest_url": sim.rest_url,
                "gateway_url": sim.gateway.ws_url,
                "applications": [
                    {
                        "id": str(app.id),
                        "token": app.token,
                        "guilds": len(app.guild_ids),
                        "session_start_remaining": app.session_start_remaining,
                        "max_concurrency": app.max_concurrency,
                    }
                    for app in sim.world.applications.values()
                ],
                "settings": settings,
            }
        )

    async def stats(self, _: web.Request) -> web.Response:
        sim = self.sim
        return _json(sim.stats.as_json(sessions_by_shard=sim.gateway.sessions.counts_by_shard()))

    async def reset_stats(self, _: web.Request) -> web.Response:
        self.sim.stats.reset()
        return _json({"ok": True})

    async def sessions(self, _: web.Request) -> web.Response:
        return _json(
            [
                {
                    "id": s.id,
                    "application_id": str(s.app_id),
                    "shard": [s.shard_id, s.shard_count],
                    "intents": s.intents,
                    "seq": s.seq,
                    "is_connected": s.connection is not None,
                }
                for s in self.sim.gateway.sessions.by_id.values()
            ]
        )

    # -- guilds -------------------------------------------------------------------------

    async def list_guilds(self, request: web.Request) -> web.Response:
        app = self._sim_of(dict(request.query))
        query = request.query
        if "shard_count" in query:
            count = _int(dict(query), "shard_count")
            shard_id = _int(dict(query), "shard_id", 0)
            if count < 1 or not 0 <= shard_id < count:
                return _error("shard_count must be at least 1 and 0 <= shard_id < shard_count")
            guild_ids = sorted(self.sim.world.guild_ids_on_shard(app, shard_id, count))
        else:
            guild_ids = sorted(app.guild_ids)
        return _json({"count": len(guild_ids), "ids": [str(g) for g in guild_ids]})

    async def add_guilds(self, request: web.Request) -> web.Response:
        body = await _body(request)
        app = self._sim_of(body)
        count = _int(body, "count", 1)
        if not 1 <= count <= 100_000:  # noqa: PLR2004 - keep one request bounded
            return _error("count must be between 1 and 100000")
        members = _optional_int(body, "members")
        if members is not None and not 0 <= members <= _MAX_ADDED_MEMBERS:
            return _error(f"members must be between 0 and {_MAX_ADDED_MEMBERS}")
        if not isinstance(body.get("name", ""), str):
            return _error("name must be a string")
        created = []
        reached = 0
        for _ in range(count):
            guild = self.sim.world.add_guild(app, name=body.get("name"), members=members)
            reached += events.emit_guild_joined(self.sim, guild)
            created.append(str(guild.id))
        return _json({"ids": created, "sessions_notified": reached}, 201)

    async def remove_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(_int(dict(request.match_info), "guild_id"))
        reached = events.emit_guild_left(self.sim, guild)
        self.sim.world.remove_guild(guild.id)
        return _json({"id": str(guild.id), "sessions_notified": reached})

    async def guild_state(self, request: web.Request) -> web.Response:
        guild = self._guild(_int(dict(request.match_info), "guild_id"))
        world = self.sim.world
        roles, channels, members = world.contents(guild)
        return _json(
            {
                "id": str(guild.id),
                "name": guild.name,
                "member_count": guild.member_count,
                "roles": [payloads.role_json(r) for r in roles.values()],
                "channels": [payloads.channel_json(c) for c in channels.values()],
                "members": {
                    str(m.user_id): {
                        "nick": m.nick,
                        "roles": [str(r) for r in m.role_ids],
                        "communication_disabled_until": m.communication_disabled_until_ms,
                    }
                    for m in members.values()
                },
                "bans": {str(b.user_id): {"reason": b.reason} for b in guild.bans.values()},
                "voice_states": {
                    str(v.user_id): str(v.channel_id) for v in guild.voice_states.values()
                },
                "commands": list(guild.commands.values()),
            }
        )

    # -- injected events -------------------------------------------------------------------

    def _place(self, body: JSON) -> tuple[Guild | None, int, int]:
        guild_id = _optional_int(body, "guild_id")
        if guild_id is None:
            user_id = _int(body, "user_id")
            return None, self.sim.world.dm_channel(user_id).id, user_id
        guild = self._guild(guild_id)
        channel_id = _optional_int(body, "channel_id") or generated_channel_id(guild, 1)
        if guild.member_count < 2 and body.get("user_id") is None:  # noqa: PLR2004
            msg = "this guild has no generated members: give user_id"
            raise _BadInputError(msg)
        user_id = _optional_int(body, "user_id") or generated_member_id(guild, 0)
        if self.sim.world.channel(channel_id) is None:
            msg = f"unknown channel {channel_id}"
            raise _BadInputError(msg)
        return guild, channel_id, user_id

    async def inject_message(self, request: web.Request) -> web.Response:
        body = await _body(request)
        guild, channel_id, user_id = self._place(body)
        content = body.get("content", "")
        if not isinstance(content, str):
            return _error("content must be a string")
        message, reached = events.emit_user_message(
            self.sim,
            channel_id=channel_id,
            author_id=user_id,
            content=content,
            guild_id=None if guild is None else guild.id,
        )
        return _json(
            {"id": str(message.id), "channel_id": str(channel_id), "sessions_reached": reached}, 201
        )

    async def inject_interaction(self, request: web.Request) -> web.Response:
        body = await _body(request)
        kind = body.get("type", "command")
        if kind not in _INTERACTION_TYPES:
            return _error(f"type must be one of {sorted(_INTERACTION_TYPES)}")
        guild, channel_id, user_id = self._place(body)
        data, source_id = self._interaction_data(kind, body, guild, channel_id)
        interaction, reached = events.emit_interaction(
            self.sim,
            guild_id=None if guild is None else guild.id,
            channel_id=channel_id,
            user_id=user_id,
            interaction_type=_INTERACTION_TYPES[kind],
            data=data,
            source_message_id=source_id,
            application_id=None if guild else self._sim_of(body).id,
        )
        return _json(
            {
                "id": str(interaction.id),
                "token": interaction.token,
                "channel_id": str(channel_id),
                "sessions_reached": reached,
            },
            201,
        )

    def _interaction_data(
        self, kind: str, body: JSON, guild: Guild | None, channel_id: int
    ) -> tuple[JSON, int | None]:
        if kind in ("command", "autocomplete"):
            return self._command_data(body, guild), None
        if kind == "modal":
            custom_id = body.get("custom_id")
            if not isinstance(custom_id, str):
                msg = "custom_id is required"
                raise _BadInputError(msg)
            return {"custom_id": custom_id, "components": body.get("components", [])}, None
        return self._component_data(body, guild, channel_id)

    def _command_data(self, body: JSON, guild: Guild | None) -> JSON:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            msg = "name (the command name) is required"
            raise _BadInputError(msg)
        options = body.get("options", [])
        if not isinstance(options, list):
            msg = "options must be a list of Discord option objects"
            raise _BadInputError(msg)
        data: JSON = {
            "id": str(self._command_id(name, guild)),
            "name": name,
            "type": _int(body, "command_type", 1),
            "options": options,
        }
        if guild is not None:
            data["guild_id"] = str(guild.id)
        return data

    def _component_data(
        self, body: JSON, guild: Guild | None, channel_id: int
    ) -> tuple[JSON, int | None]:
        custom_id = body.get("custom_id")
        component = body.get("component_type", "button")
        if not isinstance(custom_id, str) or component not in _COMPONENT_TYPES:
            msg = f"custom_id and component_type (one of {sorted(_COMPONENT_TYPES)}) are required"
            raise _BadInputError(msg)
        data: JSON = {"custom_id": custom_id, "component_type": _COMPONENT_TYPES[component]}
        if component != "button":
            values = body.get("values", [])
            if not isinstance(values, list):
                msg = "values must be a list"
                raise _BadInputError(msg)
            data["values"] = [str(v) for v in values]
        source_id = _optional_int(body, "message_id")
        if source_id is None or self.sim.world.message(channel_id, source_id) is None:
            source_id = self._component_message(
                channel_id, guild, custom_id, _COMPONENT_TYPES[component]
            )
        return data, source_id

    def _component_message(
        self, channel_id: int, guild: Guild | None, custom_id: str, component_type: int
    ) -> int:
        """Create the bot message carrying the used component (Discord always has one)."""
        world = self.sim.world
        app = (
            world.applications[guild.application_id]
            if guild
            else next(iter(world.applications.values()))
        )
        component: JSON = {"type": component_type, "custom_id": custom_id}
        if component_type == 2:  # noqa: PLR2004 - button
            component |= {"style": 1, "label": custom_id}
        else:
            component |= (
                {"options": [{"label": "one", "value": "1"}]}
                if component_type == _COMPONENT_TYPES["string_select"]
                else {}
            )
        message = Message(
            id=world.ids.next_id(),
            channel_id=channel_id,
            guild_id=None if guild is None else guild.id,
            author_id=app.bot_user_id,
            content="(component message)",
            components=[{"type": 1, "components": [component]}],
        )
        world.add_message(message)
        return message.id

    def _command_id(self, name: str, guild: Guild | None) -> int:
        world = self.sim.world
        app = (
            world.applications[guild.application_id]
            if guild
            else next(iter(world.applications.values()))
        )
        pools = [guild.commands] if guild else []
        for pool in [*pools, app.commands]:
            for command_id, command in pool.items():
                if command.get("name") == name:
                    return command_id
        return app.id + 1

    async def interaction_state(self, request: web.Request) -> web.Response:
        interaction = self.sim.world.interactions.get(
            _int(dict(request.match_info), "interaction_id")
        )
        if interaction is None:
            return _error("unknown (or expired) interaction", 404)
        return _json(self._interaction_json(interaction))

    def _interaction_json(self, interaction: Interaction) -> JSON:
        world, base = self.sim.world, self.sim.base_url
        latency_ms = None
        if interaction.responded_at is not None:
            start = interaction.dispatched_at or interaction.created_at
            latency_ms = round((interaction.responded_at - start) * 1000, 3)
        original = None
        if interaction.original_message_id is not None:
            message = world.message(interaction.channel_id, interaction.original_message_id)
            original = None if message is None else payloads.message_json(message, world, base)
        followups = [
            payloads.message_json(m, world, base)
            for m in (
                world.message(interaction.channel_id, i) for i in interaction.followup_message_ids
            )
            if m is not None
        ]
        return {
            "id": str(interaction.id),
            "type": interaction.type,
            "guild_id": None if interaction.guild_id is None else str(interaction.guild_id),
            "is_dispatched": interaction.dispatched_at is not None,
            "response_type": interaction.response_type,
            "response": interaction.response,
            "latency_ms": latency_ms,
            "is_late": interaction.is_late,
            "acknowledge_attempts": interaction.acknowledge_attempts,
            "original": original,
            "followups": followups,
        }

    # -- what the bot did ---------------------------------------------------------------

    async def messages(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        world, base = self.sim.world, self.sim.base_url
        channel_id = _optional_int(query, "channel_id")
        by_bot = query.get("author") == "bot"
        bot_ids = {a.bot_user_id for a in world.applications.values()} | set(world.applications)
        found = []
        pool: Iterable[Message] = (
            world.messages[channel_id].values()
            if channel_id is not None and channel_id in world.messages
            else ([] if channel_id is not None else world.all_messages())
        )
        for message in pool:
            if by_bot and message.author_id not in bot_ids and message.webhook_id is None:
                continue
            found.append(payloads.message_json(message, world, base))
        limit = _int(query, "limit", 100)
        if limit < 1:
            return _error("limit must be at least 1")
        return _json(found[-limit:])

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        match = dict(request.match_info)
        channel_id, attachment_id = _int(match, "channel_id"), _int(match, "attachment_id")
        for message in self.sim.world.messages.get(channel_id, {}).values():
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    return web.Response(
                        body=attachment.data,
                        content_type=attachment.content_type or "application/octet-stream",
                    )
        return _error("unknown attachment", 404)

    # -- forcing gateway trouble -----------------------------------------------------------

    async def force_shard(self, request: web.Request) -> web.Response:
        body = await _body(request)
        action = body.get("action")
        if action not in _FORCE_ACTIONS:
            return _error(f"action must be one of {sorted(_FORCE_ACTIONS)}")
        code = _optional_int(body, "code")
        if action == "close" and (code is None or not 1000 <= code <= 4999):  # noqa: PLR2004
            return _error("close needs a code between 1000 and 4999")
        app = self._sim_of(body)
        shard_id = _int(dict(request.match_info), "shard_id")
        sessions = self.sim.gateway.sessions.of_shard(
            app.id, shard_id, _optional_int(body, "shard_count")
        )
        touched = self.sim.gateway.force(sessions, action, code=code)
        return _json({"sessions": touched})

    async def reset_token(self, request: web.Request) -> web.Response:
        app = self._app_at(request)
        return _json({"token": self.sim.world.reset_token(app)})

    async def session_starts(self, request: web.Request) -> web.Response:
        body = await _body(request)
        app = self._app_at(request)
        remaining = _int(body, "remaining")
        if not 0 <= remaining <= app.session_start_total:
            return _error(f"remaining must be between 0 and {app.session_start_total}")
        app.session_start_remaining = remaining
        return _json({"remaining": remaining})

    # -- load generator ---------------------------------------------------------------------

    async def start_load(self, request: web.Request) -> web.Response:
        body = await _body(request)
        commands = body.get("commands", ["ping"])
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            return _error("commands must be a list of command names")
        app_id = None if body.get("application_id") is None else self._sim_of(body).id
        try:
            spec = LoadSpec(
                messages_per_s=float(body.get("messages_per_s", 0)),
                interactions_per_s=float(body.get("interactions_per_s", 0)),
                duration_s=float(body.get("duration_s", 60)),
                zipf_s=float(body.get("zipf_s", 1.1)),
                commands=tuple(commands),
                seed=int(body.get("seed", 1)),
                application_id=app_id,
            )
        except (TypeError, ValueError) as exc:
            return _error(f"bad load spec: {exc}")
        generator = LoadGenerator(self.sim, spec)
        self.loads.append(generator)
        self._load_tasks.append(self.sim.spawn(self._run_load(generator)))
        # One step of the loop starts the run: the answer shows it running, and a stop that
        # follows always finds it inside run() (a task cancelled before its first step
        # would never record its end).
        await asyncio.sleep(0)
        return _json({"index": len(self.loads) - 1, **generator.as_json()}, 201)

    async def _run_load(self, generator: LoadGenerator) -> None:
        await generator.run()

    async def load_status(self, _: web.Request) -> web.Response:
        return _json([g.as_json() for g in self.loads])

    async def stop_load(self, _: web.Request) -> web.Response:
        # Only the generators' tasks (the simulator may own others), awaited so that the
        # answer shows them stopped.
        tasks, self._load_tasks = self._load_tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return _json([g.as_json() for g in self.loads])


@web.middleware
async def _bad_input(request: web.Request, handler: Any) -> web.StreamResponse:  # noqa: ANN401
    try:
        response: web.StreamResponse = await handler(request)
    except _BadInputError as exc:
        return _error(str(exc))
    except LookupError as exc:
        return _error(str(exc), 404)
    return response


def add_routes(app: web.Application, sim: Simulator) -> None:
    """Mount the control API on the simulator's application."""
    control = _Control(sim)
    sub = web.Application(middlewares=[_bad_input])
    sub.router.add_get("/info", control.info)
    sub.router.add_get("/stats", control.stats)
    sub.router.add_post("/stats/reset", control.reset_stats)
    sub.router.add_get("/sessions", control.sessions)
    sub.router.add_get("/guilds", control.list_guilds)
    sub.router.add_post("/guilds", control.add_guilds)
    sub.router.add_get("/guilds/{guild_id}", control.guild_state)
    sub.router.add_delete("/guilds/{guild_id}", control.remove_guild)
    sub.router.add_post("/messages", control.inject_message)
    sub.router.add_get("/messages", control.messages)
    sub.router.add_post("/interactions", control.inject_interaction)
    sub.router.add_get("/interactions/{interaction_id}", control.interaction_state)
    sub.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", control.attachment)
    sub.router.add_post("/shards/{shard_id}", control.force_shard)
    sub.router.add_post("/applications/{application_id}/reset-token", control.reset_token)
    sub.router.add_post("/applications/{application_id}/session-starts", control.session_starts)
    sub.router.add_post("/load", control.start_load)
    sub.router.add_get("/load", control.load_status)
    sub.router.add_delete("/load", control.stop_load)
    app.add_subapp("/_sim", sub)
