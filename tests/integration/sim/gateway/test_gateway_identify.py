"""IDENTIFY rules over a raw websocket: who may start a session, when, and at what cost.

Each refusal is checked next to the closest accepted case, so a rule that is not
enforced, or enforced one step too early, fails a test.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from tests.integration.sim.gateway.raw_client import (
    OP_DISPATCH,
    OP_INVALID_SESSION,
    Closed,
    RawGateway,
)
from tests.integration.sim.gateway.worlds import app_of, small_world

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.server import Simulator
    from shoal_sim.discord.settings import SimSettings

_BAD_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.bm90LXRoZS1yaWdodC10b2tlbg"  # noqa: S105 - fake


async def _identify(
    http: aiohttp.ClientSession,
    sim: Simulator,
    *,
    shard: tuple[int, int] = (0, 1),
    intents: int = intent_bits.GUILDS,
    token: str | None = None,
) -> tuple[RawGateway, dict[str, Any] | Closed]:
    """Send one IDENTIFY on a new connection; return the client and the first answer."""
    client = await RawGateway.connect(http, sim.gateway.ws_url)
    await client.read_hello()
    await client.identify(shard=shard, intents=intents, token=token or app_of(sim).token)
    return client, await client.receive()


def _is_ready(answer: dict[str, Any] | Closed) -> bool:
    return isinstance(answer, dict) and answer["op"] == OP_DISPATCH and answer["t"] == "READY"


def _is_invalid_session(answer: dict[str, Any] | Closed) -> bool:
    return isinstance(answer, dict) and answer == {
        "op": OP_INVALID_SESSION,
        "d": False,
        "s": None,
        "t": None,
    }


async def _sleep_until(deadline: float) -> None:
    """Let a time window pass: the rule under test is about time itself."""
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


async def _gateway_bot(
    http: aiohttp.ClientSession, sim: Simulator, token: str
) -> tuple[int, dict[str, Any]]:
    """GET /gateway/bot as the bot with ``token``: the status and the body."""
    async with http.get(
        f"{sim.rest_url}/gateway/bot", headers={"Authorization": f"Bot {token}"}
    ) as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


async def _remaining(http: aiohttp.ClientSession, sim: Simulator) -> int:
    """Return ``session_start_limit.remaining`` as GET /gateway/bot reports it."""
    status, body = await _gateway_bot(http, sim, app_of(sim).token)
    assert status == 200, body
    remaining: int = body["session_start_limit"]["remaining"]
    return remaining


async def test_identify_closes_4004_when_the_token_is_unknown(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        _, refused = await _identify(http, sim, token=_BAD_TOKEN)
        _, accepted = await _identify(http, sim)
    assert refused == Closed(4004, "Authentication failed.")
    assert _is_ready(accepted)


@pytest.mark.parametrize(
    ("shard", "settings"),
    [
        ((1, 1), small_world()),
        ((2, 1), small_world()),
        ((0, 0), small_world()),
        ((-1, 2), small_world()),
        ((0, 2), small_world(shard_count_multiple=4)),
        ((0, 6), small_world(shard_count_multiple=4)),
    ],
    ids=[
        "id-equals-count",
        "id-above-count",
        "count-zero",
        "negative-id",
        "count-2-of-4",
        "count-6-of-4",
    ],
)
async def test_identify_closes_4010_when_the_shard_pair_is_invalid(
    http: aiohttp.ClientSession, shard: tuple[int, int], settings: SimSettings
) -> None:
    async with running_simulator(settings) as sim:
        _, answer = await _identify(http, sim, shard=shard)
    assert answer == Closed(4010, "Invalid shard.")


async def test_identify_accepts_shard_counts_when_they_are_multiples_of_the_required_one(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(shard_count_multiple=4, max_concurrency=8)) as sim:
        _, four = await _identify(http, sim, shard=(3, 4))
        _, eight = await _identify(http, sim, shard=(7, 8))
    assert _is_ready(four)
    assert _is_ready(eight)


async def test_identify_closes_4011_when_a_shard_would_hold_too_many_guilds(
    http: aiohttp.ClientSession,
) -> None:
    settings = small_world(guilds=20, max_guilds_per_shard=5, max_concurrency=4)
    async with running_simulator(settings) as sim:
        _, one_shard = await _identify(http, sim, shard=(0, 1))
        _, two_shards = await _identify(http, sim, shard=(1, 2))
        _, four_shards = await _identify(http, sim, shard=(2, 4))  # exactly 5 guilds
    assert one_shard == Closed(4011, "Sharding required.")
    assert two_shards == Closed(4011, "Sharding required.")
    assert _is_ready(four_shards)
    assert isinstance(four_shards, dict)
    assert len(four_shards["d"]["guilds"]) == 5


@pytest.mark.parametrize("intents", [1 << 17, 1 << 30, -1], ids=["bit-17", "bit-30", "negative"])
async def test_identify_closes_4013_when_intents_have_unknown_bits(
    http: aiohttp.ClientSession, intents: int
) -> None:
    async with running_simulator(small_world()) as sim:
        _, answer = await _identify(http, sim, intents=intents | intent_bits.GUILDS)
    assert answer == Closed(4013, "Invalid intent(s).")


@pytest.mark.parametrize(
    "privileged",
    [intent_bits.GUILD_MEMBERS, intent_bits.GUILD_PRESENCES, intent_bits.MESSAGE_CONTENT],
    ids=["members", "presences", "message-content"],
)
async def test_identify_closes_4014_when_a_privileged_intent_is_not_approved(
    http: aiohttp.ClientSession, privileged: int
) -> None:
    everything_else = intent_bits.PRIVILEGED & ~privileged
    async with running_simulator(small_world(privileged_intents=everything_else)) as sim:
        _, refused = await _identify(http, sim, intents=intent_bits.GUILDS | privileged)
        _, others = await _identify(http, sim, intents=intent_bits.GUILDS | everything_else)
    assert refused == Closed(4014, "Disallowed intent(s).")
    assert _is_ready(others)


async def test_identify_accepts_privileged_intents_when_the_application_is_approved(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(privileged_intents=intent_bits.PRIVILEGED)) as sim:
        _, answer = await _identify(http, sim, intents=intent_bits.ALL_VALID)
    assert _is_ready(answer)


async def test_identify_gets_invalid_session_when_its_bucket_identified_within_the_window(
    http: aiohttp.ClientSession,
) -> None:
    window_s = 0.3
    async with running_simulator(small_world(max_concurrency=2, identify_window_s=window_s)) as sim:
        _, first = await _identify(http, sim, shard=(0, 4))
        ready_at = time.monotonic()
        _, same_bucket = await _identify(http, sim, shard=(2, 4))
        _, other_bucket = await _identify(http, sim, shard=(1, 4))
        assert time.monotonic() - ready_at < window_s, "too slow to test the window"
        await _sleep_until(ready_at + window_s)
        _, after_window = await _identify(http, sim, shard=(2, 4))
        stats = sim.stats
    assert _is_ready(first)
    assert _is_invalid_session(same_bucket)
    assert _is_ready(other_bucket)
    assert _is_ready(after_window)
    assert stats.invalid_sessions == 1
    assert dict(stats.identifies_by_shard) == {"0/4": 1, "1/4": 1, "2/4": 2}


async def test_identify_spends_a_session_start_when_accepted_or_refused_by_its_bucket(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(identify_window_s=5.0)) as sim:
        before = await _remaining(http, sim)
        client, accepted = await _identify(http, sim)
        after_ready = await _remaining(http, sim)
        _, busy = await _identify(http, sim)
        after_busy = await _remaining(http, sim)
        _, bad_token = await _identify(http, sim, token=_BAD_TOKEN)
        after_bad_token = await _remaining(http, sim)
        await client.close(4000)  # a resumable close
        resumed = await RawGateway.connect(http, sim.gateway.ws_url)
        await resumed.read_hello()
        await resumed.resume(session_id=client.session_id, seq=1, token=app_of(sim).token)
        await resumed.next_dispatch("RESUMED")
        after_resume = await _remaining(http, sim)
    assert _is_ready(accepted)
    assert _is_invalid_session(busy)
    assert bad_token == Closed(4004, "Authentication failed.")
    assert [before, after_ready, after_busy, after_bad_token, after_resume] == [
        1000,
        999,
        998,
        998,
        998,
    ]


async def test_identify_ends_every_session_and_resets_the_token_when_no_start_is_left(
    http: aiohttp.ClientSession,
) -> None:
    settings = small_world(session_start_total=2, max_concurrency=2)
    async with running_simulator(settings) as sim:
        app = app_of(sim)
        old_token = app.token
        first, first_ready = await _identify(http, sim, shard=(0, 2))
        second, second_ready = await _identify(http, sim, shard=(1, 2))
        _, exhausted = await _identify(http, sim, shard=(0, 2))
        first_end, second_end = await first.closed(), await second.closed()
        old_token_status, _ = await _gateway_bot(http, sim, old_token)
        async with http.post(f"{sim.base_url}/_sim/applications/{app.id}/reset-token") as response:
            new_token = (await response.json())["token"]
        new_token_status, limit = await _gateway_bot(http, sim, new_token)
        resumed = await RawGateway.connect(http, sim.gateway.ws_url)
        await resumed.read_hello()
        await resumed.resume(session_id=first.session_id, seq=1, token=new_token)
        resume_answer = await resumed.receive()
        stats = sim.stats
    assert _is_ready(first_ready)
    assert _is_ready(second_ready)
    assert exhausted == Closed(4004, "Authentication failed.")
    assert first_end == second_end == Closed(4004, "Authentication failed.")
    assert stats.session_start_exhaustions == 1
    assert old_token_status == 401
    assert new_token != old_token
    assert new_token_status == 200
    assert limit["session_start_limit"]["remaining"] == 0
    assert _is_invalid_session(resume_answer)
