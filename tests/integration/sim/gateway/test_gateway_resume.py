"""RESUME rules over a raw websocket: which disconnects keep a session, and what replays.

A session survives a dropped connection and any close code but 1000/1001, for
``resume_timeout_s``; RESUME replays every dispatch after the client's ``seq`` in order,
then RESUMED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shoal_sim.discord import events
from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from tests.integration.sim.gateway.raw_client import (
    OP_INVALID_SESSION,
    Closed,
    Dispatch,
    RawGateway,
    open_session,
)
from tests.integration.sim.gateway.waiting import eventually
from tests.integration.sim.gateway.worlds import small_world, user_message

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.server import Simulator

_INTENTS = intent_bits.GUILDS | intent_bits.GUILD_MESSAGES


async def _identified(http: aiohttp.ClientSession, sim: Simulator) -> RawGateway:
    client = await open_session(http, sim, intents=_INTENTS)
    await client.catch_up(sim)
    return client


async def _disconnect(client: RawGateway, sim: Simulator, how: str) -> None:
    """End the client's connection ``how`` and wait until the simulator has seen it."""
    session = sim.gateway.sessions.by_id[client.session_id]
    if how == "drop":
        assert sim.gateway.force([session], "drop") == 1
        assert await client.closed() == Closed(None, "")
    else:
        await client.close(int(how))
    await eventually(lambda: session.connection is None, "the simulator to see the disconnect")


def _send_messages(sim: Simulator, count: int) -> list[str]:
    """Post ``count`` messages from a user; return their ids."""
    guild = next(iter(sim.world.guilds.values()))
    channel_id, author_id = user_message(guild)
    sent = [
        events.emit_user_message(
            sim, channel_id=channel_id, author_id=author_id, content="hi", guild_id=guild.id
        )[0]
        for _ in range(count)
    ]
    return [str(message.id) for message in sent]


async def _resume(
    http: aiohttp.ClientSession, client: RawGateway, *, seq: int | None = None
) -> RawGateway:
    """RESUME the client's session on a new connection to READY's resume URL."""
    assert client.ready is not None
    resumed = await RawGateway.connect(http, client.ready["resume_gateway_url"])
    await resumed.read_hello()
    seq = client.last_seq if seq is None else seq
    assert seq is not None
    await resumed.resume(session_id=client.session_id, seq=seq)
    return resumed


async def _until_resumed(client: RawGateway) -> list[Dispatch]:
    found = []
    while True:
        dispatch = await client.next_dispatch()
        found.append(dispatch)
        if dispatch.event == "RESUMED":
            return found


@pytest.mark.parametrize("how", ["drop", "3000", "4000"])
async def test_resume_replays_missed_dispatches_in_order_when_the_session_was_left_open(
    http: aiohttp.ClientSession, how: str
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _identified(http, sim)
        last_seq = client.last_seq
        assert last_seq is not None
        await _disconnect(client, sim, how)
        sent = _send_messages(sim, 3)
        resumed = await _resume(http, client)
        replayed = await _until_resumed(resumed)
        stats = sim.stats
    assert [(d.seq, d.event) for d in replayed] == [
        (last_seq + 1, "MESSAGE_CREATE"),
        (last_seq + 2, "MESSAGE_CREATE"),
        (last_seq + 3, "MESSAGE_CREATE"),
        (last_seq + 3, "RESUMED"),
    ]
    assert [d.data["id"] for d in replayed[:3]] == sent
    assert (stats.identifies, stats.resumes) == (1, 1)


async def test_resume_replays_from_the_clients_seq_when_it_had_not_read_everything(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await open_session(http, sim, intents=_INTENTS)  # GUILD_CREATEs left unread
        await _disconnect(client, sim, "drop")
        resumed = await _resume(http, client, seq=1)
        replayed = await _until_resumed(resumed)
    assert [d.seq for d in replayed] == [*range(2, 14), 13]
    assert [d.event for d in replayed] == ["GUILD_CREATE"] * 12 + ["RESUMED"]


@pytest.mark.parametrize("code", [1000, 1001])
async def test_resume_gets_invalid_session_when_the_client_closed_with_a_final_code(
    http: aiohttp.ClientSession, code: int
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _identified(http, sim)
        await _disconnect(client, sim, str(code))
        resumed = await _resume(http, client)
        answer = await resumed.next_payload()
        resumes = sim.stats.resumes
    assert answer == {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}
    assert resumes == 0


async def test_resume_gets_invalid_session_when_the_resume_timeout_has_passed(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(resume_timeout_s=0.2)) as sim:
        client = await _identified(http, sim)
        await _disconnect(client, sim, "4000")
        await eventually(
            lambda: client.session_id not in sim.gateway.sessions.by_id,
            "the disconnected session to expire",
        )
        resumed = await _resume(http, client)
        answer = await resumed.next_payload()
    assert answer == {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}


async def test_resume_gets_invalid_session_when_missed_dispatches_left_the_replay_buffer(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(replay_buffer=5)) as sim:
        client = await _identified(http, sim)
        await _disconnect(client, sim, "drop")
        too_old = await _resume(http, client, seq=1)  # READY: 12 GUILD_CREATEs ago
        answer = await too_old.next_payload()
    assert answer == {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}


async def test_resume_closes_4007_and_ends_the_session_when_the_seq_is_ahead_of_it(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _identified(http, sim)
        last_seq = client.last_seq
        assert last_seq is not None
        await _disconnect(client, sim, "drop")
        ahead = await _resume(http, client, seq=last_seq + 1)
        ended = await ahead.closed()
        retry = await _resume(http, client, seq=last_seq)
        answer = await retry.next_payload()
    assert ended == Closed(4007, "Invalid seq.")
    # Discord: "Reconnect and start a new session" - a retry must not resume it.
    assert answer == {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}


async def test_resume_gets_invalid_session_when_the_session_belongs_to_another_bot(
    http: aiohttp.ClientSession,
) -> None:
    other_token = "MTAwMDAwMDAwMDAwMDAwMDAwMg.GsimXX.c2Vjb25kLWJvdA"  # noqa: S105 - fake
    settings = small_world(tokens=(small_world().tokens[0], other_token))
    async with running_simulator(settings) as sim:
        client = await _identified(http, sim)
        await _disconnect(client, sim, "drop")
        assert client.ready is not None
        stranger = await RawGateway.connect(http, client.ready["resume_gateway_url"])
        await stranger.read_hello()
        await stranger.resume(session_id=client.session_id, seq=1, token=other_token)
        answer = await stranger.next_payload()
    assert answer == {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}
