"""`/_sim/interactions`: injected commands, components and modals; answers read back; stats."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

import pytest

from shoal_sim.discord import intents
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.rest.api import Api
from tests.integration.sim.rest.gateway_listening import GatewayListener, listening

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator

_CALLBACK: Final = "/interactions/{interaction_id}/{interaction_token}/callback"
#: Short, so that "past the deadline" costs a few hundred milliseconds of polling.
_SHORT_DEADLINE_S: Final = 0.2
_POLL_S: Final = 0.02
_WAIT_S: Final = 5.0


async def _inject(
    control: ControlApi, listener: GatewayListener, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Inject an interaction; return the control reply and the INTERACTION_CREATE body."""
    injected = await control.call("POST", "/interactions", json=body, expect=201)
    created = await listener.next_event("INTERACTION_CREATE")
    assert created["id"] == injected["id"]
    return injected, created


def _callback_path(injected: dict[str, Any]) -> dict[str, object]:
    return {"interaction_id": injected["id"], "interaction_token": injected["token"]}


async def test_interaction_reaches_the_session_as_a_slash_command_when_injected(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    options = [{"name": "text", "type": 3, "value": "hi"}, {"name": "times", "type": 4, "value": 2}]
    body = {"type": "command", "guild_id": str(guild.id), "name": "echo", "options": options}
    async with listening(http, sim, intents=intents.NONE) as listener:
        injected, created = await _inject(control, listener, body)
    assert injected["sessions_reached"] == 1
    assert injected["channel_id"] == str(generated_channel_id(guild, 1))
    assert created["type"] == 2
    assert created["token"] == injected["token"]
    assert created["guild_id"] == str(guild.id)
    assert created["channel_id"] == injected["channel_id"]
    assert created["member"]["user"]["id"] == str(generated_member_id(guild, 0))
    assert created["data"]["name"] == "echo"
    assert created["data"]["type"] == 1
    assert created["data"]["options"] == options
    assert "message" not in created


async def test_interaction_reaches_the_session_as_a_button_press_when_injected(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    body = {"type": "component", "guild_id": guild.id, "custom_id": "vote:yes"}
    async with listening(http, sim, intents=intents.NONE) as listener:
        _, created = await _inject(control, listener, body)
    assert created["type"] == 3
    assert created["data"] == {"custom_id": "vote:yes", "component_type": 2}
    (row,) = created["message"]["components"]
    assert row["components"][0]["custom_id"] == "vote:yes"
    assert row["components"][0]["type"] == 2
    assert created["message"]["channel_id"] == created["channel_id"]


async def test_interaction_reaches_the_session_as_a_string_select_when_injected(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    body = {
        "type": "component",
        "guild_id": guild.id,
        "custom_id": "colour",
        "component_type": "string_select",
        "values": ["red", "blue"],
    }
    async with listening(http, sim, intents=intents.NONE) as listener:
        _, created = await _inject(control, listener, body)
    assert created["type"] == 3
    assert created["data"] == {
        "custom_id": "colour",
        "component_type": 3,
        "values": ["red", "blue"],
    }
    (row,) = created["message"]["components"]
    assert row["components"][0]["custom_id"] == "colour"
    assert row["components"][0]["type"] == 3


async def test_interaction_uses_the_given_message_when_a_component_names_one(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, api: Api, guild: Guild
) -> None:
    channel_id = generated_channel_id(guild, 1)
    button = {"type": 2, "style": 1, "label": "Go", "custom_id": "go"}
    sent = await api.call(
        "POST",
        "/channels/{channel_id}/messages",
        path={"channel_id": channel_id},
        json={"content": "press", "components": [{"type": 1, "components": [button]}]},
        expect=200,
    )
    body = {
        "type": "component",
        "guild_id": guild.id,
        "custom_id": "go",
        "message_id": sent.body["id"],
    }
    async with listening(http, sim, intents=intents.NONE) as listener:
        _, created = await _inject(control, listener, body)
    assert created["message"]["id"] == sent.body["id"]
    assert created["message"]["content"] == "press"


async def test_interaction_reaches_the_session_as_a_modal_submit_when_injected(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    fields = [{"type": 1, "components": [{"type": 4, "custom_id": "reason", "value": "spam"}]}]
    body = {"type": "modal", "guild_id": guild.id, "custom_id": "report", "components": fields}
    async with listening(http, sim, intents=intents.NONE) as listener:
        _, created = await _inject(control, listener, body)
    assert created["type"] == 5
    assert created["data"] == {"custom_id": "report", "components": fields}


async def test_interaction_reaches_shard_zero_when_injected_in_a_dm(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    body = {"type": "command", "user_id": "4242", "name": "ping"}
    async with listening(http, sim, intents=intents.NONE) as listener:
        injected, created = await _inject(control, listener, body)
    assert injected["sessions_reached"] == 1
    assert "guild_id" not in created
    assert created["user"]["id"] == "4242"
    assert created["data"]["name"] == "ping"


async def test_interaction_reads_back_the_answer_and_latency_when_the_bot_responds(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, api: Api, guild: Guild
) -> None:
    async with listening(http, sim, intents=intents.NONE) as listener:
        injected, _ = await _inject(
            control, listener, {"guild_id": guild.id, "name": "ping", "options": []}
        )
    pending = await control.call("GET", f"/interactions/{injected['id']}", expect=200)
    await api.call(
        "POST",
        _CALLBACK,
        path=_callback_path(injected),
        json={"type": 4, "data": {"content": "pong"}},
        expect=204,
    )
    answered = await control.call("GET", f"/interactions/{injected['id']}", expect=200)
    assert pending["is_dispatched"] is True
    assert pending["response_type"] is None
    assert pending["latency_ms"] is None
    assert answered["response_type"] == 4
    assert answered["response"] == {"type": 4, "data": {"content": "pong"}}
    assert isinstance(answered["latency_ms"], float)
    assert 0 <= answered["latency_ms"] < _WAIT_S * 1000
    assert answered["is_late"] is False
    assert answered["acknowledge_attempts"] == 1
    assert answered["original"]["content"] == "pong"
    assert answered["followups"] == []
    assert answered["guild_id"] == str(guild.id)


async def test_interaction_is_not_dispatched_when_no_session_covers_it(
    control: ControlApi, guild: Guild
) -> None:
    injected = await control.call(
        "POST", "/interactions", json={"guild_id": guild.id, "name": "ping"}, expect=201
    )
    state = await control.call("GET", f"/interactions/{injected['id']}", expect=200)
    assert injected["sessions_reached"] == 0
    assert state["is_dispatched"] is False
    stats = await control.call("GET", "/stats", expect=200)
    assert stats["interactions"]["injected"] == 1
    assert stats["interactions"]["unanswered"] == 0


async def _unanswered_reaches(control: ControlApi, count: int) -> dict[str, Any]:
    """Poll the stats until ``count`` interactions are unanswered; return those stats."""
    async with asyncio.timeout(_WAIT_S):
        while True:
            stats: dict[str, Any] = await control.call("GET", "/stats", expect=200)
            if stats["interactions"]["unanswered"] >= count:
                return stats
            await asyncio.sleep(_POLL_S)


async def test_stats_count_answered_late_double_and_unanswered_when_interactions_are_used(
    http: aiohttp.ClientSession,
) -> None:
    settings = SimSettings(guilds=2, interaction_deadline_s=_SHORT_DEADLINE_S)
    async with (
        running_simulator(settings) as sim,
        listening(http, sim, intents=intents.NONE) as listener,
    ):
        control, api = ControlApi(http, sim), Api(http, sim)
        guild = sim.world.guilds[min(sim.world.guilds)]
        command = {"guild_id": guild.id, "name": "ping"}
        answer = {"type": 4, "data": {"content": "pong"}}
        in_time, _ = await _inject(control, listener, command)
        await api.call("POST", _CALLBACK, path=_callback_path(in_time), json=answer, expect=204)
        twice, _ = await _inject(control, listener, command)
        await api.call("POST", _CALLBACK, path=_callback_path(twice), json=answer, expect=204)
        await api.call("POST", _CALLBACK, path=_callback_path(twice), json=answer, expect=400)
        late, _ = await _inject(control, listener, command)
        await _inject(control, listener, command)  # never answered
        await _unanswered_reaches(control, 2)
        await api.call("POST", _CALLBACK, path=_callback_path(late), json=answer, expect=404)
        counted = (await control.call("GET", "/stats", expect=200))["interactions"]
        late_state = await control.call("GET", f"/interactions/{late['id']}", expect=200)
        await control.call("POST", "/stats/reset", expect=200)
        after_reset = (await control.call("GET", "/stats", expect=200))["interactions"]
    assert counted["injected"] == 4
    assert counted["answered"] == 2
    assert counted["late"] == 1
    assert counted["double_acknowledged"] == 1
    assert counted["unanswered"] == 2
    latency = counted["latency_ms"]
    assert latency["count"] == 2
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert latency["max"] < _SHORT_DEADLINE_S * 1000
    assert late_state["is_late"] is True
    assert late_state["response_type"] is None
    assert late_state["acknowledge_attempts"] == 1
    assert after_reset["injected"] == after_reset["unanswered"] == 0


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"type": "bogus", "guild_id": "<guild>"}, 400, "type must be one of"),
        ({"guild_id": "<guild>"}, 400, "name"),
        ({"guild_id": "<guild>", "name": ""}, 400, "name"),
        ({"guild_id": "<guild>", "name": "x", "options": "none"}, 400, "options"),
        ({"guild_id": "<guild>", "name": "x", "command_type": "chat"}, 400, "command_type"),
        ({"guild_id": "<guild>", "type": "component"}, 400, "custom_id"),
        (
            {
                "guild_id": "<guild>",
                "type": "component",
                "custom_id": "c",
                "component_type": "dial",
            },
            400,
            "component_type",
        ),
        (
            {
                "guild_id": "<guild>",
                "type": "component",
                "custom_id": "c",
                "component_type": "string_select",
                "values": "red",
            },
            400,
            "values",
        ),
        ({"guild_id": "<guild>", "type": "modal"}, 400, "custom_id"),
        ({"name": "x"}, 400, "user_id"),
        ({"user_id": "1", "name": "x", "application_id": "12345"}, 400, "unknown application"),
        ({"guild_id": "<guild>", "channel_id": "123", "name": "x"}, 400, "unknown channel"),
        ({"guild_id": "lounge", "name": "x"}, 400, "guild_id"),
        ({"guild_id": "123", "name": "x"}, 404, "unknown guild 123"),
    ],
)
async def test_interaction_is_refused_when_the_body_is_bad(
    control: ControlApi,
    sim: Simulator,
    guild: Guild,
    body: dict[str, object],
    status: int,
    named: str,
) -> None:
    sent = {key: str(guild.id) if value == "<guild>" else value for key, value in body.items()}
    assert named in await control.error("POST", "/interactions", json=sent, expect=status)
    assert sim.world.interactions == {}


@pytest.mark.parametrize(("raw", "named"), [(b"{", "JSON"), (b'"ping"', "JSON object")])
async def test_interaction_is_refused_when_the_body_is_not_an_object(
    control: ControlApi, raw: bytes, named: str
) -> None:
    assert named in await control.error("POST", "/interactions", raw_body=raw)


async def test_interaction_state_is_404_when_the_interaction_is_unknown(
    control: ControlApi,
) -> None:
    assert "unknown" in await control.error("GET", "/interactions/12345", expect=404)
    assert "interaction_id" in await control.error("GET", "/interactions/ping")
