"""Driving onboarding through the simulator as a server's admin and members would.

Owns the test-side steps: ``/onboarding`` commands (with the resolved role and channel
data Discord sends with role and channel options, which ``POST /_sim/interactions`` does
not build, so they are emitted through the simulator's own event function), the rules
modal, button clicks, and reading a member's state and role history back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import events, payloads
from shoal_sim.discord.entities import ChannelType
from tests.integration.interactions.answers import answer_of, inject_click

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi

__all__ = [
    "Place",
    "click",
    "command",
    "member_state",
    "place_of",
    "submit_rules",
    "text_of",
    "until",
]

_POLL_S: Final = 0.01
_WAIT_S: Final = 10.0
_ALL_PERMISSIONS: Final = "2251799813685247"
_SUBCOMMAND: Final = 1
_ROLE: Final = 8
_CHANNEL: Final = 7


@dataclasses.dataclass(frozen=True, slots=True)
class Place:
    """A generated guild as the tests use it."""

    guild: Guild
    admin_id: int
    """A member who runs the admin commands (the simulator gives every member all permissions)."""
    rules_channel_id: int
    roles: dict[str, int]
    """Role id by name (``Admin``, ``role-1``...)."""
    bot_role_position: int

    @property
    def guild_id(self) -> int:
        """The guild's id."""
        return self.guild.id


def place_of(sim: Simulator) -> Place:
    """Return the first guild of ``sim`` with an admin, a text channel and its roles."""
    guild = sim.world.guilds[min(sim.world.guilds)]
    roles, channels, members = sim.world.contents(guild)
    bot_id = sim.world.bot_member(guild).user_id
    text = min(c.id for c in channels.values() if c.type == ChannelType.GUILD_TEXT)
    return Place(
        guild=guild,
        admin_id=min(user for user in members if user != bot_id),
        rules_channel_id=text,
        roles={role.name: role.id for role in roles.values()},
        bot_role_position=roles[sim.world.bot_role_id(guild)].position,
    )


async def command(
    sim: Simulator,
    control: ControlApi,
    place: Place,
    subcommand: str,
    *,
    roles: dict[str, int] | None = None,
    channels: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Run ``/onboarding <subcommand>`` as the admin; return the interaction's state."""
    world_roles, world_channels, _ = sim.world.contents(place.guild)
    options: list[dict[str, Any]] = []
    resolved: dict[str, dict[str, Any]] = {}
    for name, role_id in (roles or {}).items():
        options.append({"type": _ROLE, "name": name, "value": str(role_id)})
        resolved.setdefault("roles", {})[str(role_id)] = payloads.role_json(world_roles[role_id])
    for name, channel_id in (channels or {}).items():
        options.append({"type": _CHANNEL, "name": name, "value": str(channel_id)})
        channel = world_channels[channel_id]
        resolved.setdefault("channels", {})[str(channel_id)] = {
            "id": str(channel_id),
            "name": channel.name,
            "type": channel.type,
            "permissions": _ALL_PERMISSIONS,
        }
    data: dict[str, Any] = {
        "id": str(sim.world.ids.next_id()),
        "name": "onboarding",
        "type": 1,
        "guild_id": str(place.guild_id),
        "options": [{"type": _SUBCOMMAND, "name": subcommand, "options": options}],
    }
    if resolved:
        data["resolved"] = resolved
    interaction, reached = events.emit_interaction(
        sim,
        guild_id=place.guild_id,
        channel_id=place.rules_channel_id,
        user_id=place.admin_id,
        interaction_type=2,
        data=data,
    )
    assert reached >= 1
    return await answer_of(control, str(interaction.id))


async def submit_rules(
    control: ControlApi, place: Place, custom_id: str, text: str
) -> dict[str, Any]:
    """Submit the rules modal ``custom_id`` with ``text`` as the admin; return its state."""
    body = {
        "type": "modal",
        "guild_id": str(place.guild_id),
        "channel_id": str(place.rules_channel_id),
        "user_id": str(place.admin_id),
        "custom_id": custom_id,
        "components": [
            {
                "type": 1,
                "id": 1,
                "components": [{"type": 4, "id": 2, "custom_id": "rules", "value": text}],
            }
        ],
    }
    injected = await control.call("POST", "/interactions", json=body, expect=201)
    return await answer_of(control, injected["id"])


async def click(
    control: ControlApi, place: Place, custom_id: str, user_id: int, *, sessions: int = 1
) -> dict[str, Any]:
    """Click the button ``custom_id`` as ``user_id``; return the interaction's state."""
    interaction_id = await inject_click(
        control, place.guild_id, custom_id, user_id=user_id, sessions=sessions
    )
    return await answer_of(control, interaction_id)


def text_of(state: dict[str, Any]) -> str:
    """Return what the member read: the answer's content, or its first embed's description."""
    message = state["original"] or (state["followups"] or [None])[0]
    assert message is not None, state
    if message.get("content"):
        return str(message["content"])
    return str(message["embeds"][0]["description"])


async def member_state(control: ControlApi, place: Place, user_id: int) -> dict[str, Any]:
    """Return ``GET /_sim/guilds/{guild}/members/{user}`` (roles, pending, role history)."""
    state: dict[str, Any] = await control.call(
        "GET", f"/guilds/{place.guild_id}/members/{user_id}", expect=200
    )
    return state


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Return once ``await check()`` is true; fail naming ``what`` after a deadline."""
    deadline = time.monotonic() + _WAIT_S
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen in {_WAIT_S} s"
        await asyncio.sleep(_POLL_S)
