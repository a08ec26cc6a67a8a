"""The middleware on real interactions: error replies, rate limits, deferral, no silence."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Final

from shoal.interactions.middleware import CommandSettings
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.world import generated_member_id
from tests.integration.interactions.answers import EPHEMERAL, answer_of, inject_command
from tests.integration.interactions.commands import SLOW_S, middleware_module
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    import aiohttp
    import asyncpg
    import pytest
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

_LOADING: Final = 1 << 7
#: The simulator's deadline for the first response in the deferral tests: shorter than
#: SLOW_S, so only a deferral can save the slow commands.
_SHORT_DEADLINE_S: Final = 0.5
_DEFER_AFTER_S: Final = 0.1
_REFERENCE: Final = re.compile(r"Something went wrong \(reference ([A-Z2-9]{6})\)\.")

assert _DEFER_AFTER_S < _SHORT_DEADLINE_S < SLOW_S


async def test_error_reply_is_ephemeral_with_the_logged_reference_when_the_handler_raises(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    caplog: pytest.LogCaptureFixture,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    caplog.set_level(logging.ERROR, logger="shoal.interactions.middleware")
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim, redis_client, keys, postgres=postgres_pool, modules=[middleware_module()]
        ) as worker,
    ):
        control = ControlApi(http, sim)
        guild_id = min(sim.world.guilds)
        answer = await answer_of(control, await inject_command(control, guild_id, "boom"))
    assert answer["response_type"] == 4
    assert answer["response"]["data"]["flags"] & EPHEMERAL
    match = _REFERENCE.fullmatch(answer["response"]["data"]["content"])
    assert match is not None, answer["response"]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.__dict__["reference"] == match.group(1)
    assert record.__dict__["command"] == "boom"
    assert record.__dict__["guild_id"] == guild_id
    assert record.__dict__["pod"] == "worker-g0"
    assert record.exc_info is not None
    assert "the handler has a bug" in str(record.exc_info[1])
    assert worker.commands_counted("boom", "error") == 1


async def test_rate_limit_answers_politely_and_ephemerally_when_a_user_exceeds_it(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim, redis_client, keys, postgres=postgres_pool, modules=[middleware_module()]
        ) as worker,
    ):
        control = ControlApi(http, sim)
        guild = sim.world.guilds[min(sim.world.guilds)]
        first_user, other_user = generated_member_id(guild, 0), generated_member_id(guild, 1)
        first = await inject_command(control, guild.id, "limited", user_id=first_user)
        first_answer = await answer_of(control, first)
        again = await inject_command(control, guild.id, "limited", user_id=first_user)
        again_answer = await answer_of(control, again)
        other = await inject_command(control, guild.id, "limited", user_id=other_user)
        other_answer = await answer_of(control, other)
    assert first_answer["response"]["data"]["content"] == "allowed"
    assert other_answer["response"]["data"]["content"] == "allowed"
    refused = again_answer["response"]["data"]
    assert refused["flags"] & EPHEMERAL
    assert re.fullmatch(
        r"You're using /limited a little too quickly\. Please try again in (59|60) seconds\.",
        refused["content"],
    ), refused["content"]
    assert worker.commands_counted("limited", "ok") == 2
    assert worker.commands_counted("limited", "rate_limited") == 1


async def test_slow_handler_is_deferred_then_completed_by_an_edit_when_it_runs_long(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    settings = CommandSettings(defer_after_s=_DEFER_AFTER_S)
    async with (
        running_simulator(command_world(interaction_deadline_s=_SHORT_DEADLINE_S)) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            modules=[middleware_module()],
            settings=settings,
        ) as worker,
    ):
        control = ControlApi(http, sim)
        interaction_id = await inject_command(control, min(sim.world.guilds), "slow")
        answer = await answer_of(
            control,
            interaction_id,
            until=lambda state: state["original"]["content"] == "finally done",
        )
        stats = sim.stats
    assert answer["response_type"] == 5
    assert answer["is_late"] is False
    assert answer["latency_ms"] < _SHORT_DEADLINE_S * 1000
    assert answer["acknowledge_attempts"] == 1
    assert not answer["original"]["flags"] & _LOADING
    assert answer["followups"] == []
    assert stats.interactions_late == stats.interactions_unanswered == 0
    assert worker.commands_counted("slow", "ok") == 1


async def test_slow_handler_error_replaces_the_deferral_when_it_raises_after_deferring(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    settings = CommandSettings(defer_after_s=_DEFER_AFTER_S)
    async with (
        running_simulator(command_world(interaction_deadline_s=_SHORT_DEADLINE_S)) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            modules=[middleware_module()],
            settings=settings,
        ),
    ):
        control = ControlApi(http, sim)
        interaction_id = await inject_command(control, min(sim.world.guilds), "slow-boom")
        answer = await answer_of(
            control,
            interaction_id,
            until=lambda state: _REFERENCE.fullmatch(state["original"]["content"]) is not None,
        )
    assert answer["response_type"] == 5
    assert answer["followups"] == []


async def test_fast_handler_is_not_deferred_when_it_answers_in_time(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    settings = CommandSettings(defer_after_s=SLOW_S)
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            modules=[middleware_module()],
            settings=settings,
        ),
    ):
        control = ControlApi(http, sim)
        answer = await answer_of(
            control, await inject_command(control, min(sim.world.guilds), "limited")
        )
    assert answer["response_type"] == 4
    assert answer["acknowledge_attempts"] == 1


async def test_handler_that_never_answers_is_answered_for_when_it_returns(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim, redis_client, keys, postgres=postgres_pool, modules=[middleware_module()]
        ) as worker,
    ):
        control = ControlApi(http, sim)
        answer = await answer_of(
            control, await inject_command(control, min(sim.world.guilds), "silent")
        )
    assert answer["response"]["data"]["content"] == "Done."
    assert answer["response"]["data"]["flags"] & EPHEMERAL
    assert worker.commands_counted("silent", "unanswered") == 1


async def test_command_answered_with_a_modal_counts_as_answered_and_gets_nothing_more(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim, redis_client, keys, postgres=postgres_pool, modules=[middleware_module()]
        ) as worker,
    ):
        control = ControlApi(http, sim)
        with caplog.at_level(logging.WARNING, logger="shoal"):
            answer = await answer_of(
                control, await inject_command(control, min(sim.world.guilds), "form")
            )
            await asyncio.sleep(0.3)  # past the tests' auto-deferral: nothing follows
    assert answer["response_type"] == 9  # MODAL
    assert answer["response"]["data"]["custom_id"] == "testform:1"
    assert answer["acknowledge_attempts"] == 1
    assert worker.commands_counted("form", "ok") == 1
    assert worker.commands_counted("form", "unanswered") == 0
    assert not [r for r in caplog.records if "without answering" in r.getMessage()]


async def test_a_server_outage_is_told_to_the_member_and_logged_once_without_a_traceback(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim, redis_client, keys, postgres=postgres_pool, modules=[middleware_module()]
        ) as worker,
    ):
        control = ControlApi(http, sim)
        with caplog.at_level(logging.WARNING, logger="shoal"):
            answers = [
                await answer_of(
                    control, await inject_command(control, min(sim.world.guilds), "outage")
                )
                for _ in range(3)
            ]
    for answer in answers:
        assert answer["response"]["data"]["content"].startswith("I cannot reach my database")
        assert answer["response"]["data"]["flags"] & EPHEMERAL
    assert worker.commands_counted("outage", "error") == 3
    lines = [r for r in caplog.records if "/outage" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelno == logging.WARNING
    assert lines[0].exc_info is None


async def test_unanswered_interaction_is_counted_as_expired_when_every_reply_is_refused(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    caplog: pytest.LogCaptureFixture,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    # Deferral comes too late (after the handler's SLOW_S) and the simulator, like Discord,
    # refuses a first response after its deadline (10062): that is no bug in the handler,
    # so no ERROR, no traceback and no error reply (it would be refused the same way).
    settings = CommandSettings(defer_after_s=SLOW_S * 10)
    async with (
        running_simulator(command_world(interaction_deadline_s=_SHORT_DEADLINE_S)) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            modules=[middleware_module()],
            settings=settings,
        ) as worker,
    ):
        control = ControlApi(http, sim)
        await inject_command(control, min(sim.world.guilds), "slow")
        for _ in range(100):
            if worker.unanswered_counted("slow"):
                break
            await asyncio.sleep(0.05)
        stats = sim.stats
    assert worker.unanswered_counted("slow") == 1
    assert worker.commands_counted("slow", "expired") == 1
    assert worker.commands_counted("slow", "error") == 0
    assert stats.interactions_unanswered == 1
    # The harness's migrations and the kit log at INFO; the expiry is the only WARNING.
    shoal_lines = [
        r
        for r in caplog.records
        if r.name.split(".")[0] == "shoal" and r.levelno >= logging.WARNING
    ]
    assert [r.levelname for r in shoal_lines] == ["WARNING"]
    assert shoal_lines[0].exc_info is None
    assert "after Discord's 3 s window" in shoal_lines[0].getMessage()
