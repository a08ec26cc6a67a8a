"""Interaction accounting end to end: the stats' buckets add up, and the listing explains them.

A raw gateway session covers shard 0 of 2 only, so interactions in shard 1's guilds reach
nobody (undelivered); the others are answered in time, answered late or never.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import intents
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.control.shard_listening import listening_as_shard
from tests.integration.sim.rest.api import Api

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.server import Simulator

_CALLBACK: Final = "/interactions/{interaction_id}/{interaction_token}/callback"
_ANSWER: Final = {"type": 4, "data": {"content": "pong"}}
#: Long enough that a few control calls surely fit before it, short enough to wait out.
_DEADLINE_S: Final = 1.0
_OUTCOMES: Final = ("answered", "unanswered", "undelivered", "pending")
_POLL_S: Final = 0.02
_WAIT_S: Final = 10.0


def _settings() -> SimSettings:
    return SimSettings(guilds=20, max_concurrency=16, interaction_deadline_s=_DEADLINE_S)


def _guilds_of_shard(sim: Simulator, shard_id: int) -> list[int]:
    return sorted(g for g in sim.world.guilds if (g >> 22) % 2 == shard_id)


async def _inject(control: ControlApi, **body: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON
    injected: dict[str, Any] = await control.call(
        "POST", "/interactions", json={"type": "command", "name": "ping", **body}, expect=201
    )
    return injected


async def _answer(api: Api, injected: dict[str, Any], *, expect: int) -> None:
    path = {"interaction_id": injected["id"], "interaction_token": injected["token"]}
    await api.call("POST", _CALLBACK, path=path, json=_ANSWER, expect=expect)


async def _counts(control: ControlApi) -> dict[str, Any]:
    stats: dict[str, Any] = await control.call("GET", "/stats", expect=200)
    counts: dict[str, Any] = stats["interactions"]
    assert counts["injected"] == sum(counts[o] for o in _OUTCOMES), counts
    return counts


async def _settled(control: ControlApi) -> dict[str, Any]:
    """Poll the stats until nothing is pending; return the interaction counts."""
    async with asyncio.timeout(_WAIT_S):
        while True:
            counts = await _counts(control)
            if not counts["pending"]:
                return counts
            await asyncio.sleep(_POLL_S)


async def _outcome_reaches(control: ControlApi, interaction_id: str, outcome: str) -> None:
    """Poll one interaction until it is in ``outcome`` (reads settle passed deadlines)."""
    async with asyncio.timeout(_WAIT_S):
        while True:
            state = await control.call("GET", f"/interactions/{interaction_id}", expect=200)
            if state["outcome"] == outcome:
                return
            await asyncio.sleep(_POLL_S)


async def _load_finished(control: ControlApi) -> dict[str, Any]:
    """Poll the last load generator run until it ends; return its status."""
    async with asyncio.timeout(_WAIT_S):
        while True:
            status: dict[str, Any] = (await control.call("GET", "/load", expect=200))[-1]
            if not status["running"]:
                return status
            await asyncio.sleep(_POLL_S)


async def _listed(control: ControlApi, outcome: str | None = None) -> dict[str, dict[str, Any]]:
    query = {} if outcome is None else {"outcome": outcome}
    listing = await control.call("GET", "/interactions", query=query, expect=200)
    assert listing["total"] == len(listing["interactions"])
    return {item["id"]: item for item in listing["interactions"]}


async def _outcomes(control: ControlApi) -> dict[str, str]:
    """Return each listed interaction's outcome, checking the per-outcome listings agree."""
    every = await _listed(control)
    for outcome in _OUTCOMES:
        assert set(await _listed(control, outcome)) == {
            i for i, item in every.items() if item["outcome"] == outcome
        }
    return {i: item["outcome"] for i, item in every.items()}


async def test_interaction_buckets_add_up_when_answered_expired_late_and_undelivered(
    http: aiohttp.ClientSession,
) -> None:
    async with (
        running_simulator(_settings()) as sim,
        listening_as_shard(http, sim, shard=(0, 2), intents=intents.NONE),
    ):
        control, api = ControlApi(http, sim), Api(http, sim)
        covered, uncovered = _guilds_of_shard(sim, 0), _guilds_of_shard(sim, 1)
        in_time = [await _inject(control, guild_id=g) for g in covered[:2]]
        in_time.append(await _inject(control, user_id="4242"))  # a DM: shard 0 has it
        never = await _inject(control, guild_id=covered[2])
        late = await _inject(control, guild_id=covered[3])
        lost = [await _inject(control, guild_id=g) for g in uncovered[:2]]
        started_unix = time.time()
        for injected in in_time:
            await _answer(api, injected, expect=204)
        before = await _counts(control)
        pending = await _listed(control, "pending")
        after = await _settled(control)
        await _answer(api, late, expect=404)
        final = await _counts(control)
        outcomes = await _outcomes(control)
        listed_late = await _listed(control, "late")
        every = await _listed(control)
    assert before["injected"] == 7
    assert (before["answered"], before["undelivered"], before["pending"]) == (3, 2, 2)
    assert before["unanswered"] == 0
    assert set(pending) == {never["id"], late["id"]}
    assert (after["answered"], after["unanswered"], after["undelivered"]) == (3, 2, 2)
    assert (final["injected"], final["unanswered"], final["pending"], final["late"]) == (7, 2, 0, 1)
    assert outcomes == {
        **{i["id"]: "answered" for i in in_time},
        never["id"]: "unanswered",
        late["id"]: "unanswered",
        **{i["id"]: "undelivered" for i in lost},
    }
    assert set(listed_late) == {late["id"]}
    for injected in lost:
        item = every[injected["id"]]
        assert item["shards"] == ["1/2"]  # the shard no session covered
        assert item["sessions_reached"] == 0
        assert item["dispatched_at_unix"] is None
    for injected in in_time:
        item = every[injected["id"]]
        assert item["shards"] == ["0/2"]
        assert item["sessions_reached"] == 1
        assert item["created_at_unix"] <= item["dispatched_at_unix"] <= item["responded_at_unix"]
        assert abs(item["responded_at_unix"] - started_unix) < _WAIT_S
        assert 0 <= item["latency_ms"] < _DEADLINE_S * 1000
    assert every[never["id"]]["responded_at_unix"] is None
    assert every[late["id"]]["is_late"] is True
    assert every[late["id"]]["name"] == "ping"


async def test_interaction_counts_forget_older_interactions_when_the_stats_are_reset(
    http: aiohttp.ClientSession,
) -> None:
    async with (
        running_simulator(_settings()) as sim,
        listening_as_shard(http, sim, shard=(0, 1), intents=intents.NONE),
    ):
        control, api = ControlApi(http, sim), Api(http, sim)
        guild_id = min(sim.world.guilds)
        answered_after = await _inject(control, guild_id=guild_id)
        expired_after = await _inject(control, guild_id=guild_id)
        await control.call("POST", "/stats/reset", expect=200)
        await _answer(api, answered_after, expect=204)
        fresh = await _inject(control, guild_id=guild_id)
        await _answer(api, fresh, expect=204)
        await _outcome_reaches(control, expired_after["id"], "unanswered")
        counts = await _settled(control)
        outcomes = await _outcomes(control)
    assert counts["injected"] == counts["answered"] == 1
    assert counts["unanswered"] == counts["undelivered"] == counts["pending"] == 0
    assert counts["latency_ms"]["count"] == 1
    assert outcomes == {fresh["id"]: "answered"}


async def test_interaction_listing_keeps_to_the_limit_when_more_match(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(_settings()) as sim:  # no session: all undelivered
        control = ControlApi(http, sim)
        injected = [await _inject(control, guild_id=g) for g in sorted(sim.world.guilds)[:3]]
        listing = await control.call(
            "GET", "/interactions", query={"outcome": "undelivered", "limit": "2"}, expect=200
        )
        bad_outcome = await control.error("GET", "/interactions", query={"outcome": "lost"})
        bad_limit = await control.error("GET", "/interactions", query={"limit": "0"})
    assert listing["total"] == 3
    assert [i["id"] for i in listing["interactions"]] == [i["id"] for i in injected[:2]]
    assert "outcome must be one of" in bad_outcome
    assert "limit" in bad_limit


async def test_load_counts_undelivered_interactions_as_the_stats_do_when_a_shard_is_uncovered(
    http: aiohttp.ClientSession,
) -> None:
    spec = {"interactions_per_s": 100, "duration_s": 0.5, "zipf_s": 0}
    async with (
        running_simulator(_settings()) as sim,
        listening_as_shard(http, sim, shard=(0, 2), intents=intents.NONE),
    ):
        control = ControlApi(http, sim)
        await control.call("POST", "/load", json=spec, expect=201)
        status = await _load_finished(control)
        counts = await _settled(control)
        outcomes = await _outcomes(control)
    assert status["skipped"] == 0
    assert counts["injected"] == status["interactions_sent"] == len(outcomes)
    assert 0 < counts["undelivered"] == status["interactions_undelivered"]
    assert counts["unanswered"] == status["interactions_sent"] - status["interactions_undelivered"]
    assert counts["answered"] == 0
    assert sorted(set(outcomes.values())) == ["unanswered", "undelivered"]
