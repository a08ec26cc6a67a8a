"""Connection rules over a raw websocket: heartbeats, the send limit, framing, bad input.

Heartbeat and send-limit windows are shortened through ``SimSettings`` so each rule is
seen both holding (the connection stays open) and broken (the close code arrives).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import TYPE_CHECKING

import aiohttp
import orjson
import pytest

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN
from tests.integration.sim.gateway.raw_client import (
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_VOICE_STATE_UPDATE,
    Closed,
    RawGateway,
    open_session,
)
from tests.integration.sim.gateway.worlds import guilds_on_shard, small_world

if TYPE_CHECKING:
    from shoal_sim.discord.server import Simulator

_HEARTBEAT_INTERVAL_MS = 300  # with the default grace of 1.5, silence ends a connection at 0.45 s
_HEARTBEAT_EVERY_S = 0.1  # a third of the interval: 0.35 s of slack for a busy CI
_IDENTIFY = {
    "token": DEFAULT_TOKEN,
    "properties": {"os": "linux", "browser": "shoal-tests", "device": "shoal-tests"},
    "shard": [0, 1],
    "intents": intent_bits.GUILDS,
}


async def _connected(http: aiohttp.ClientSession, sim: Simulator) -> RawGateway:
    client = await RawGateway.connect(http, sim.gateway.ws_url)
    await client.read_hello()
    return client


async def _heartbeat(client: RawGateway) -> None:
    await client.send(OP_HEARTBEAT, client.last_seq)
    ack = await client.next_op(OP_HEARTBEAT_ACK)
    assert ack["d"] is None


async def test_connection_sends_hello_first_and_acks_heartbeats_when_opened(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(heartbeat_interval_ms=41_250)) as sim:
        client = await RawGateway.connect(http, sim.gateway.ws_url)
        hello = await client.next_payload()
        await client.send(OP_HEARTBEAT, None)
        ack = await client.next_payload()
    assert hello["op"] == OP_HELLO
    assert hello["d"]["heartbeat_interval"] == 41_250
    assert ack == {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None}


async def test_connection_closes_4009_and_ends_the_session_when_heartbeats_stop(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(heartbeat_interval_ms=_HEARTBEAT_INTERVAL_MS)) as sim:
        client = await open_session(http, sim)
        opened_at = time.monotonic()
        ended = await client.closed()
        silent_s = time.monotonic() - opened_at
        resumed = await _connected(http, sim)
        await resumed.resume(session_id=client.session_id, seq=1)
        answer = await resumed.next_payload()
        zombies = sim.stats.zombies
    assert ended == Closed(4009, "Session timed out.")
    assert silent_s < 2.0
    assert zombies == 1
    assert answer["op"] == OP_INVALID_SESSION
    assert answer["d"] is False


async def test_connection_stays_open_when_heartbeats_arrive_within_the_interval(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(heartbeat_interval_ms=_HEARTBEAT_INTERVAL_MS)) as sim:
        client = await open_session(http, sim)
        for _ in range(7):  # 0.7 s in all, well past the 0.45 s a silent connection lives
            await _heartbeat(client)
            await asyncio.sleep(_HEARTBEAT_EVERY_S)
        zombies_while_beating = sim.stats.zombies
        ended = await client.closed()
    assert zombies_while_beating == 0
    assert ended == Closed(4009, "Session timed out.")


async def test_connection_closes_4008_when_commands_exceed_the_send_limit(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(send_limit=5)) as sim:
        client = await _connected(http, sim)
        for _ in range(5):
            await _heartbeat(client)
        await client.send(OP_HEARTBEAT, None)
        ended = await client.closed()
    assert ended == Closed(4008, "Rate limited.")


async def test_connection_allows_the_send_limit_again_when_the_window_has_passed(
    http: aiohttp.ClientSession,
) -> None:
    window_s = 0.3
    async with running_simulator(small_world(send_limit=5, send_window_s=window_s)) as sim:
        client = await _connected(http, sim)
        started = time.monotonic()
        for _ in range(5):
            await _heartbeat(client)
        await asyncio.sleep(max(0.0, started + window_s - time.monotonic()))
        for _ in range(5):
            await _heartbeat(client)
        await client.send(OP_HEARTBEAT, None)
        ended = await client.closed()
    assert ended == Closed(4008, "Rate limited.")


@pytest.mark.parametrize("op", [5, 11, 12, 99], ids=["op-5", "op-11", "op-12", "op-99"])
async def test_connection_closes_4001_when_the_opcode_is_unknown(
    http: aiohttp.ClientSession, op: int
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _connected(http, sim)
        await client.send(op, None)
        ended = await client.closed()
    assert ended == Closed(4001, "Unknown opcode.")


@pytest.mark.parametrize(
    "text",
    ["{not json", "[1, 2]", '{"d": null}', '{"op": "1", "d": null}', '{"op": true}'],
    ids=["not-json", "not-an-object", "no-op", "op-string", "op-bool"],
)
async def test_connection_closes_4002_when_the_payload_cannot_be_decoded(
    http: aiohttp.ClientSession, text: str
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _connected(http, sim)
        await client.send_text(text)
        ended = await client.closed()
    assert ended == Closed(4002, "Decode error.")


@pytest.mark.parametrize("op", [3, OP_VOICE_STATE_UPDATE, 8], ids=["presence", "voice", "members"])
async def test_connection_closes_4003_when_a_session_command_comes_before_identify(
    http: aiohttp.ClientSession, op: int
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _connected(http, sim)
        guild_id = min(guilds_on_shard(sim, 0, 1))
        await client.send(op, {"guild_id": str(guild_id), "channel_id": None})
        ended = await client.closed()
    assert ended == Closed(4003, "Not authenticated.")


@pytest.mark.parametrize("second", ["identify", "resume"])
async def test_connection_closes_4005_when_an_identified_connection_authenticates_again(
    http: aiohttp.ClientSession, second: str
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await open_session(http, sim)
        await client.catch_up(sim)
        if second == "identify":
            await client.identify(shard=(0, 1))
        else:
            await client.resume(session_id=client.session_id, seq=1)
        ended = await client.closed()
    assert ended == Closed(4005, "Already authenticated.")


@pytest.mark.parametrize("compress", [True, False], ids=["zlib-stream", "plain-json"])
async def test_connection_frames_every_payload_whole_when_compressed_or_not(
    http: aiohttp.ClientSession, *, compress: bool
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await open_session(http, sim, intents=intent_bits.GUILDS, compress=compress)
        dispatches = await client.catch_up(sim)
        await _heartbeat(client)
    expected_type = aiohttp.WSMsgType.BINARY if compress else aiohttp.WSMsgType.TEXT
    # HELLO, READY, a GUILD_CREATE per guild and the ACK: one frame each, of one type.
    assert [d.event for d in dispatches] == ["GUILD_CREATE"] * 12
    assert client.payloads_read == 15
    assert client.frame_types == {expected_type: 15}


async def test_connection_uses_one_deflate_stream_when_zlib_stream_is_asked_for(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        ws = await http.ws_connect(f"{sim.gateway.ws_url}?v=10&encoding=json&compress=zlib-stream")
        frames = [await ws.receive_bytes()]  # HELLO
        await ws.send_json({"op": OP_IDENTIFY, "d": _IDENTIFY})
        frames += [await ws.receive_bytes() for _ in range(3)]  # READY, two GUILD_CREATEs
        await ws.close()
    inflator = zlib.decompressobj()
    texts = [inflator.decompress(frame) for frame in frames]
    assert [orjson.loads(t)["t"] for t in texts] == [None, "READY", "GUILD_CREATE", "GUILD_CREATE"]
    assert all(frame.endswith(b"\x00\x00\xff\xff") for frame in frames)  # Z_SYNC_FLUSH
    # Later frames continue the first one's stream: on their own they do not decode.
    assert all(_inflated_alone(f) != t for f, t in zip(frames[1:], texts[1:], strict=True))


def _inflated_alone(frame: bytes) -> bytes | None:
    try:
        return zlib.decompressobj().decompress(frame)
    except zlib.error:
        return None


@pytest.mark.parametrize("compress", [True, False], ids=["zlib-stream", "plain-json"])
async def test_connection_sends_a_payload_whole_when_it_is_larger_than_64_kib(
    http: aiohttp.ClientSession, *, compress: bool
) -> None:
    async with running_simulator(small_world(guilds=2000)) as sim:
        # GUILD_MESSAGES only: a READY listing 2,000 guilds (about 90 KiB), no GUILD_CREATE.
        client = await open_session(
            http, sim, intents=intent_bits.GUILD_MESSAGES, compress=compress
        )
        await _heartbeat(client)
    assert client.ready is not None
    assert len(client.ready["guilds"]) == 2000


async def test_connection_closes_4012_when_the_api_version_is_not_10(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        old = await RawGateway.connect(http, sim.gateway.ws_url, version="9")
        current = await RawGateway.connect(http, sim.gateway.ws_url, version="10")
        ended = await old.receive()
        hello = await current.read_hello()
    assert ended == Closed(4012, "Invalid API version.")
    assert hello["heartbeat_interval"] == sim.settings.heartbeat_interval_ms


async def test_connection_closes_4002_when_a_payload_exceeds_4096_bytes(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _connected(http, sim)
        padded = {**_IDENTIFY, "properties": {"os": "x" * 4096}}
        await client.send_text(orjson.dumps({"op": OP_IDENTIFY, "d": padded}).decode())
        ended = await client.closed()
    assert ended == Closed(4002, "Payload too large.")


async def test_connection_accepts_a_payload_when_it_is_exactly_4096_bytes(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await _connected(http, sim)
        empty = orjson.dumps({"op": OP_IDENTIFY, "d": {**_IDENTIFY, "properties": {"os": ""}}})
        padded = {**_IDENTIFY, "properties": {"os": "x" * (4096 - len(empty))}}
        text = orjson.dumps({"op": OP_IDENTIFY, "d": padded}).decode()
        assert len(text) == 4096
        await client.send_text(text)
        ready = await client.next_dispatch("READY")
    assert ready.data["shard"] == [0, 1]
