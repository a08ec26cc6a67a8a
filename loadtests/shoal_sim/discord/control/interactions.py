"""Control routes for interactions: inject one as a user would, read back the bot's answer.

Owns ``POST /_sim/interactions`` (commands, autocomplete, components, modals: the data
Discord would send, and the bot message a component sits on) and
``GET /_sim/interactions/{interaction_id}`` (the response, its latency, the original
message and follow-ups, its outcome). Commands and user, role, mentionable and channel
selects get ``data.resolved`` built by :mod:`shoal_sim.discord.resolving` (an option naming
an id the world lacks is a 400 naming the option). INTERACTION_CREATE itself is
:mod:`shoal_sim.discord.events`'; listing them by outcome is :mod:`.outcomes`'.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import events, payloads, resolving
from shoal_sim.discord.control import inputs
from shoal_sim.discord.entities import Message

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Application, Guild, Interaction
    from shoal_sim.discord.server import Simulator

__all__ = ["InteractionHandlers"]

_INTERACTION_TYPES: Final = {"command": 2, "component": 3, "autocomplete": 4, "modal": 5}
_COMPONENT_TYPES: Final = {
    "button": 2,
    "string_select": 3,
    "user_select": 5,
    "role_select": 6,
    "mentionable_select": 7,
    "channel_select": 8,
}


@dataclasses.dataclass(frozen=True, slots=True)
class InteractionHandlers:
    """Interaction handlers bound to one simulator."""

    sim: Simulator

    async def inject_interaction(self, request: web.Request) -> web.Response:
        """Create an interaction and dispatch INTERACTION_CREATE."""
        body = await inputs.read_body(request)
        kind = body.get("type", "command")
        if kind not in _INTERACTION_TYPES:
            return inputs.error_response(f"type must be one of {sorted(_INTERACTION_TYPES)}")
        guild, channel_id, user_id = inputs.place_of(self.sim, body)
        data, source_id = self._interaction_data(kind, body, guild, channel_id)
        self._resolve(data, guild, user_id)
        interaction, reached = events.emit_interaction(
            self.sim,
            guild_id=None if guild is None else guild.id,
            channel_id=channel_id,
            user_id=user_id,
            interaction_type=_INTERACTION_TYPES[kind],
            data=data,
            source_message_id=source_id,
            application_id=None if guild else inputs.application_of(self.sim, body).id,
        )
        return inputs.json_response(
            {
                "id": str(interaction.id),
                "token": interaction.token,
                "channel_id": str(channel_id),
                "sessions_reached": reached,
            },
            201,
        )

    def _resolve(self, data: inputs.JSON, guild: Guild | None, user_id: int) -> None:
        """Attach ``data.resolved`` for the ids the options or select values name."""
        try:
            references = resolving.references_in_options(data.get("options") or [])
            references += resolving.references_in_values(
                data.get("component_type", 0), data.get("values") or []
            )
            if references:
                data["resolved"] = resolving.resolved_data(
                    self.sim.world, guild, user_id, references
                )
        except resolving.UnresolvedOptionError as exc:
            raise inputs.BadInputError(str(exc)) from exc

    def _interaction_data(
        self, kind: str, body: inputs.JSON, guild: Guild | None, channel_id: int
    ) -> tuple[inputs.JSON, int | None]:
        if kind in ("command", "autocomplete"):
            return self._command_data(body, guild), None
        if kind == "modal":
            custom_id = body.get("custom_id")
            if not isinstance(custom_id, str):
                msg = "custom_id is required"
                raise inputs.BadInputError(msg)
            return {"custom_id": custom_id, "components": body.get("components", [])}, None
        return self._component_data(body, guild, channel_id)

    def _command_data(self, body: inputs.JSON, guild: Guild | None) -> inputs.JSON:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            msg = "name (the command name) is required"
            raise inputs.BadInputError(msg)
        options = body.get("options", [])
        if not isinstance(options, list):
            msg = "options must be a list of Discord option objects"
            raise inputs.BadInputError(msg)
        data: inputs.JSON = {
            "id": str(self._command_id(name, guild)),
            "name": name,
            "type": inputs.int_field(body, "command_type", 1),
            "options": options,
        }
        if guild is not None:
            data["guild_id"] = str(guild.id)
        return data

    def _component_data(
        self, body: inputs.JSON, guild: Guild | None, channel_id: int
    ) -> tuple[inputs.JSON, int | None]:
        custom_id = body.get("custom_id")
        component = body.get("component_type", "button")
        if not isinstance(custom_id, str) or component not in _COMPONENT_TYPES:
            msg = f"custom_id and component_type (one of {sorted(_COMPONENT_TYPES)}) are required"
            raise inputs.BadInputError(msg)
        data: inputs.JSON = {"custom_id": custom_id, "component_type": _COMPONENT_TYPES[component]}
        if component != "button":
            values = body.get("values", [])
            if not isinstance(values, list):
                msg = "values must be a list"
                raise inputs.BadInputError(msg)
            data["values"] = [str(v) for v in values]
        source_id = inputs.optional_int_field(body, "message_id")
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
        app = self._application(guild)
        component: inputs.JSON = {"type": component_type, "custom_id": custom_id}
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
        app = self._application(guild)
        pools = [guild.commands] if guild else []
        for pool in [*pools, app.commands]:
            for command_id, command in pool.items():
                if command.get("name") == name:
                    return command_id
        return app.id + 1

    def _application(self, guild: Guild | None) -> Application:
        """Return the guild's application, or the first one in DMs."""
        world = self.sim.world
        return (
            world.applications[guild.application_id]
            if guild
            else next(iter(world.applications.values()))
        )

    async def interaction_state(self, request: web.Request) -> web.Response:
        """Answer how the bot answered an interaction (404 once it expired)."""
        interaction = self.sim.world.interactions.get(
            inputs.int_field(dict(request.match_info), "interaction_id")
        )
        if interaction is None:
            return inputs.error_response("unknown (or expired) interaction", 404)
        sim = self.sim
        sim.stats.expire_due(now=time.monotonic(), deadline_s=sim.settings.interaction_deadline_s)
        return inputs.json_response(self._interaction_json(interaction))

    def _interaction_json(self, interaction: Interaction) -> inputs.JSON:
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
            "outcome": interaction.outcome.value,
            "response_type": interaction.response_type,
            "response": interaction.response,
            "latency_ms": latency_ms,
            "is_late": interaction.is_late,
            "acknowledge_attempts": interaction.acknowledge_attempts,
            "original": original,
            "followups": followups,
        }
