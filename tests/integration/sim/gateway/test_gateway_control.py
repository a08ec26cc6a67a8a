"""The control API's gateway actions, through HTTP, as a connected raw client sees them.

``POST /_sim/shards/{shard_id}`` forces what Discord does on its own: op 7, op 9 either
way, a close with a chosen code, a dropped TCP connection.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from tests.integration.sim.gateway.raw_client import (
    OP_INVALID_SESSION,
    OP_RECONNECT,
    Closed,
    RawGateway,
    open_session,
)
from tests.integration.sim.gateway.waiting import eventually
from tests.integration.sim.gateway.worlds import small_world

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.server import Simulator


async def _force(
    http: aiohttp.ClientSession, sim: Simulator, shard_id: int, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{sim.base_url}/_sim/shards/{shard_id}", json=body) as response:
        reply: dict[str, Any] = await response.json()
        return response.status, reply


async def _resume_answer(
    http: aiohttp.ClientSession, sim: Simulator, client: RawGateway
) -> dict[str, Any]:
    """Close ``client`` resumably if still open, RESUME on a new connection, return the answer."""
    session = sim.gateway.sessions.by_id.get(client.session_id)
    await client.close(3000)
    if session is not None:
        await eventually(lambda: session.connection is None, "the simulator to see the close")
    resumed = await RawGateway.connect(http, sim.gateway.ws_url)
    await resumed.read_hello()
    assert client.last_seq is not None
    await resumed.resume(session_id=client.session_id, seq=client.last_seq)
    return await resumed.next_payload()


async def _identified(http: aiohttp.ClientSession, sim: Simulator) -> RawGateway:
    client = await open_session(http, sim, intents=intent_bits.GUILDS)
    await client.catch_up(sim)
    return client


@pytest.mark.parametrize(
    ("action", "op", "data", "is_resumable"),
    [
        ("reconnect", OP_RECONNECT, None, True),
        ("invalidate", OP_INVALID_SESSION, False, False),
        ("invalidate-resumable", OP_INVALID_SESSION, True, True),
    ],
)
async def test_control_sends_the_opcode_when_asked_to_reconnect_or_invalidate(
    http: aiohttp.ClientSession, action: str, op: int, *, data: bool | None, is_resumable: bool
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _identified(http, sim)
        status, reply = await _force(http, sim, 0, {"action": action})
        received = await client.next_payload()
        answer = await _resume_answer(http, sim, client)
    assert (status, reply) == (200, {"sessions": 1})
    assert received == {"op": op, "d": data, "s": None, "t": None}
    if is_resumable:
        assert (answer["op"], answer["t"]) == (0, "RESUMED")
    else:
        assert answer == {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}


@pytest.mark.parametrize(
    ("code", "reason", "is_resumable"),
    [
        (4000, "Unknown error.", True),
        (3999, "", True),
        (4009, "Session timed out.", False),
        (4014, "Disallowed intent(s).", False),
    ],
)
async def test_control_closes_with_the_code_when_asked_to_close(
    http: aiohttp.ClientSession, code: int, reason: str, *, is_resumable: bool
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _identified(http, sim)
        status, reply = await _force(http, sim, 0, {"action": "close", "code": code})
        ended = await client.closed()
        answer = await _resume_answer(http, sim, client)
    assert (status, reply) == (200, {"sessions": 1})
    assert ended == Closed(code, reason)
    assert (answer["op"], answer["t"]) == ((0, "RESUMED") if is_resumable else (9, None))


async def test_control_cuts_the_connection_without_a_close_frame_when_asked_to_drop(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _identified(http, sim)
        status, reply = await _force(http, sim, 0, {"action": "drop"})
        ended = await client.closed()
        answer = await _resume_answer(http, sim, client)
    assert (status, reply) == (200, {"sessions": 1})
    assert ended == Closed(None, "")
    assert (answer["op"], answer["t"]) == (0, "RESUMED")


async def test_control_acts_on_one_shard_count_when_the_body_names_it(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        old = await open_session(http, sim, shard=(0, 1))
        new = await open_session(http, sim, shard=(0, 2))
        other = await open_session(http, sim, shard=(1, 2))
        for client in (old, new, other):
            await client.catch_up(sim)
        one = await _force(http, sim, 0, {"action": "reconnect", "shard_count": 2})
        told_new = await new.next_payload()
        both = await _force(http, sim, 0, {"action": "reconnect"})
        told_old = await old.next_payload()
        told_new_again = await new.next_payload()
        untouched = await other.round_trip()
    assert one == (200, {"sessions": 1})
    assert both == (200, {"sessions": 2})
    assert told_new["op"] == told_old["op"] == told_new_again["op"] == OP_RECONNECT
    assert untouched == []


@pytest.mark.parametrize(
    "body",
    [{"action": "explode"}, {"action": "close"}, {"action": "close", "code": 999}, {}],
    ids=["unknown-action", "close-without-code", "close-code-too-low", "no-action"],
)
async def test_control_answers_400_when_the_action_is_malformed(
    http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    async with running_simulator(small_world()) as sim:
        status, reply = await _force(http, sim, 0, body)
    assert status == 400
    assert reply["error"]


async def test_control_lets_the_connection_identify_again_when_its_session_was_invalidated(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(identify_window_s=0.05)) as sim:
        client = await _identified(http, sim)
        old_session_id = client.session_id
        await _force(http, sim, 0, {"action": "invalidate"})
        await client.next_op(OP_INVALID_SESSION)
        await asyncio.sleep(sim.settings.identify_window_s)  # the bucket's window, not a wait
        await client.identify(shard=(0, 1))
        ready = await client.next_dispatch("READY")
        live = set(sim.gateway.sessions.by_id)
    assert ready.data["session_id"] != old_session_id
    assert live == {ready.data["session_id"]}
