"""`/_sim/load`: the built-in load generator's rates, reach, Zipf spread, stop and checks."""

from __future__ import annotations

import asyncio
import collections
import statistics
from typing import TYPE_CHECKING, Any, Final

import pytest

from shoal_sim.discord import intents
from tests.integration.sim.control.conftest import GUILDS
from tests.integration.sim.control.shard_listening import listening_as_shard

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi
    from tests.integration.sim.rest.gateway_listening import GatewayListener

_MESSAGES_PER_S: Final = 200
_INTERACTIONS_PER_S: Final = 50
#: Pacing over one second on a busy machine: generous, the point is "about that rate".
_TOLERANCE: Final = 0.3
_POLL_S: Final = 0.02
_WAIT_S: Final = 10.0


async def _load_status(control: ControlApi) -> dict[str, Any]:
    statuses: list[dict[str, Any]] = await control.call("GET", "/load", expect=200)
    return statuses[-1]


async def _finished(control: ControlApi) -> dict[str, Any]:
    async with asyncio.timeout(_WAIT_S):
        while True:
            status = await _load_status(control)
            if not status["running"]:
                return status
            await asyncio.sleep(_POLL_S)


def _is_about(actual: float, expected: float) -> bool:
    return abs(actual - expected) <= _TOLERANCE * expected


async def _received(
    listeners: list[GatewayListener], expected: dict[str, int]
) -> list[collections.Counter[str]]:
    """Poll until the listeners together hold ``expected`` dispatches; return each one's."""
    counts: list[collections.Counter[str]] = [collections.Counter() for _ in listeners]
    async with asyncio.timeout(_WAIT_S):
        while True:
            for listener, counted in zip(listeners, counts, strict=True):
                counted.update(listener.drain())
            total = sum(counts, collections.Counter[str]())
            if all(total[name] >= count for name, count in expected.items()):
                return counts
            await asyncio.sleep(_POLL_S)


def _events_per_guild(sim: Simulator) -> list[int]:
    """How many generated messages and interactions each guild got, for every guild."""
    per_guild = collections.Counter(
        message.guild_id for message in sim.world.all_messages() if message.guild_id
    )
    per_guild.update(i.guild_id for i in sim.world.interactions.values() if i.guild_id)
    return [per_guild[guild_id] for guild_id in sim.world.guilds]


async def test_load_sends_at_the_asked_rates_with_a_zipf_spread_when_started(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    spec = {
        "messages_per_s": _MESSAGES_PER_S,
        "interactions_per_s": _INTERACTIONS_PER_S,
        "duration_s": 1.0,
    }
    async with (
        listening_as_shard(http, sim, shard=(0, 2), intents=intents.GUILD_MESSAGES) as shard_0,
        listening_as_shard(http, sim, shard=(1, 2), intents=intents.GUILD_MESSAGES) as shard_1,
    ):
        started = await control.call("POST", "/load", json=spec, expect=201)
        status = await _finished(control)
        counts = await _received(
            [shard_0, shard_1],
            {
                "MESSAGE_CREATE": status["messages_sent"],
                "INTERACTION_CREATE": status["interactions_sent"],
            },
        )
    stats = await control.call("GET", "/stats", expect=200)
    assert started["index"] == 0
    assert started["running"] is True
    assert started["spec"]["messages_per_s"] == _MESSAGES_PER_S
    assert _is_about(status["messages_sent"], _MESSAGES_PER_S), status
    assert _is_about(status["interactions_sent"], _INTERACTIONS_PER_S), status
    assert status["skipped"] == 0
    assert status["elapsed_s"] >= 0.99
    assert all(counted["MESSAGE_CREATE"] > 0 for counted in counts)  # both shards got some
    total = sum(counts, collections.Counter[str]())
    assert total["MESSAGE_CREATE"] == status["messages_sent"] == stats["messages_injected"]
    assert total["INTERACTION_CREATE"] == status["interactions_sent"]
    assert stats["interactions"]["injected"] == status["interactions_sent"]
    per_guild = _events_per_guild(sim)
    assert len(per_guild) == GUILDS
    assert sum(per_guild) == status["messages_sent"] + status["interactions_sent"]
    assert max(per_guild) > 3 * max(statistics.median(per_guild), 1)


async def test_load_stops_at_once_when_deleted(control: ControlApi, sim: Simulator) -> None:
    await control.call("POST", "/load", json={"messages_per_s": 100, "duration_s": 60}, expect=201)
    async with asyncio.timeout(_WAIT_S):
        while True:
            if (await _load_status(control))["messages_sent"] > 0:
                break
            await asyncio.sleep(_POLL_S)
    (stopped,) = await control.call("DELETE", "/load", expect=200)
    assert stopped["running"] is False
    assert not sim.background  # nothing left that could send
    assert sim.stats.messages_injected == stopped["messages_sent"] > 0
    assert stopped["elapsed_s"] < 60
    assert await control.call("DELETE", "/load", expect=200) == [stopped]


async def test_load_stops_every_run_when_several_were_started(
    control: ControlApi, sim: Simulator
) -> None:
    for seed in (1, 2):
        await control.call(
            "POST", "/load", json={"messages_per_s": 10, "duration_s": 60, "seed": seed}, expect=201
        )
    statuses = await control.call("DELETE", "/load", expect=200)
    assert [s["running"] for s in statuses] == [False, False]
    assert [s["spec"]["seed"] for s in statuses] == [1, 2]
    assert not sim.background


async def test_load_status_is_empty_when_nothing_was_started(control: ControlApi) -> None:
    assert await control.call("GET", "/load", expect=200) == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"messages_per_s": -1}, "messages_per_s"),
        ({"messages_per_s": "lots"}, "load spec"),
        ({"messages_per_s": "inf"}, "messages_per_s"),
        ({"interactions_per_s": "nan"}, "interactions_per_s"),
        ({"zipf_s": -0.5}, "zipf_s"),
        ({"duration_s": 0}, "duration_s"),
        ({"seed": "random"}, "load spec"),
        ({"commands": []}, "commands"),
        ({"commands": "ping"}, "commands"),
        ({"commands": ["ping", 5]}, "commands"),
        ({"application_id": "12345"}, "unknown application"),
    ],
)
async def test_load_is_refused_when_the_spec_is_bad(
    control: ControlApi, sim: Simulator, body: dict[str, object], named: str
) -> None:
    assert named in await control.error("POST", "/load", json=body)
    assert await control.call("GET", "/load", expect=200) == []
    assert not sim.background
