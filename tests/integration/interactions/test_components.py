"""Buttons and selects through the component router, beside commands, on real hikari.

The regression of the bug where a module's InteractionCreateEvent listener claimed every
interaction (commands included) with the middleware's key, so /shard was never answered:
components now enter through the same door as commands and each is answered once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import hikari
import pytest

from shoal.features.core import core_module
from shoal.interactions.components import (
    STALE_COMPONENT_REPLY,
    ComponentContext,
    ComponentRoute,
    module_off_reply,
)
from shoal.interactions.custom_ids import encode
from shoal.interactions.modules import Listener, Module
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.answers import (
    EPHEMERAL,
    answer_of,
    inject_click,
    inject_command,
)
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys


def _counter_module(clicks: list[tuple[str, ...]]) -> Module:
    async def on_click(ctx: ComponentContext) -> None:
        clicks.append(ctx.custom_id.args)
        await ctx.respond(f"clicked {ctx.custom_id.args[0]}")

    async def on_boom(_: ComponentContext) -> None:
        msg = "the button handler has a bug"
        raise RuntimeError(msg)

    async def on_silent(_: ComponentContext) -> None:
        return None

    return Module(
        name="counter",
        title="Counter",
        components=(
            ComponentRoute(name="counter click", prefix="cnt", version=1, handler=on_click),
            ComponentRoute(name="counter boom", prefix="cntboom", version=1, handler=on_boom),
            ComponentRoute(name="counter silent", prefix="cntquiet", version=1, handler=on_silent),
        ),
    )


async def test_commands_and_clicks_are_each_answered_once_when_a_component_route_is_loaded(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    clicks: list[tuple[str, ...]] = []
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module],
            modules=[_counter_module(clicks)],
        ) as worker,
    ):
        control = ControlApi(http, sim)
        guild = min(sim.world.guilds)
        _, _, members = sim.world.contents(sim.world.guilds[guild])
        users = [
            user
            for user in members
            if user != sim.world.bot_member(sim.world.guilds[guild]).user_id
        ]
        users = [user for user in users for _ in range(3)][:9]
        ids = []
        for index in range(5):  # the default rate limit allows 5 uses per user per 10 s
            ids.append(await inject_command(control, guild, "shard"))
            ids.append(await inject_click(control, guild, encode("cnt", 1, index)))
        answers = [await answer_of(control, interaction_id) for interaction_id in ids]
    assert [a["acknowledge_attempts"] for a in answers] == [1] * 10
    commands, click_answers = answers[0::2], answers[1::2]
    for a in commands:
        assert "on shard 0 of 1," in a["original"]["content"], a["original"]["content"]
    assert [a["original"]["content"] for a in click_answers] == [f"clicked {i}" for i in range(5)]
    assert all(a["original"]["flags"] & EPHEMERAL for a in click_answers)
    assert sorted(clicks) == [(str(i),) for i in range(5)]
    assert worker.commands_counted("shard", "ok") == 5
    assert worker.commands_counted("counter click", "ok") == 5


async def test_a_click_is_answered_by_one_worker_when_two_generations_receive_it(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    clicks: list[tuple[str, ...]] = []
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            modules=[_counter_module(clicks)],
            generation=0,
        ),
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            modules=[_counter_module(clicks)],
            generation=1,
        ),
    ):
        control = ControlApi(http, sim)
        guild = min(sim.world.guilds)
        _, _, members = sim.world.contents(sim.world.guilds[guild])
        users = [
            user
            for user in members
            if user != sim.world.bot_member(sim.world.guilds[guild]).user_id
        ]
        users = [user for user in users for _ in range(3)][:9]
        ids = [
            await inject_click(control, guild, encode("cnt", 1, i), sessions=2, user_id=user)
            for i, user in enumerate(users)
        ]
        answers = [await answer_of(control, interaction_id) for interaction_id in ids]
        await asyncio.sleep(0.5)  # a second answer would arrive within the standby's wait
        again = [await answer_of(control, interaction_id) for interaction_id in ids]
    assert [a["acknowledge_attempts"] for a in again] == [1] * len(users)
    assert [a["original"]["content"] for a in answers] == [f"clicked {i}" for i in range(9)]
    assert len(clicks) == len(users)


async def test_stale_failing_and_silent_buttons_get_clear_answers_when_clicked(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim, redis_client, keys, postgres=postgres_pool, modules=[_counter_module([])]
        ) as worker,
    ):
        control = ControlApi(http, sim)
        guild = min(sim.world.guilds)
        stale = await answer_of(control, await inject_click(control, guild, "legacy-view-123"))
        old = await answer_of(control, await inject_click(control, guild, encode("cnt", 9, 1)))
        boom = await answer_of(
            control,
            await inject_click(control, guild, encode("cntboom", 1)),
            until=lambda state: bool(state["followups"]) or state["original"] is not None,
        )
        silent = await answer_of(control, await inject_click(control, guild, encode("cntquiet", 1)))
    for answer in (stale, old):
        assert answer["original"]["content"] == STALE_COMPONENT_REPLY
        assert answer["original"]["flags"] & EPHEMERAL
    assert "Something went wrong (reference " in boom["original"]["content"]
    assert silent["response_type"] == hikari.ResponseType.DEFERRED_MESSAGE_UPDATE
    assert worker.commands_counted("counter boom", "error") == 1
    assert worker.commands_counted("counter silent", "unanswered") == 1


async def test_a_switched_off_module_answers_politely_when_its_button_or_command_is_used(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    clicks: list[tuple[str, ...]] = []
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim, redis_client, keys, postgres=postgres_pool, modules=[_counter_module(clicks)]
        ) as worker,
    ):
        control = ControlApi(http, sim)
        guild, other = sorted(sim.world.guilds)[:2]
        await worker.kit.settings.switch(guild, "counter", is_on=False)
        off = await answer_of(control, await inject_click(control, guild, encode("cnt", 1, 1)))
        on = await answer_of(control, await inject_click(control, other, encode("cnt", 1, 2)))
    assert off["original"]["content"] == module_off_reply("Counter")
    assert off["original"]["flags"] & EPHEMERAL
    assert on["original"]["content"] == "clicked 2"
    assert clicks == [("2",)]
    assert worker.commands_counted("counter click", "disabled") == 1


def test_a_module_listener_on_interactions_is_refused_when_declared() -> None:
    async def on_interaction(_: Any) -> None:  # noqa: ANN401 - any event
        return None

    with pytest.raises(TypeError, match=r"Module\.components"):
        Listener(hikari.InteractionCreateEvent, on_interaction)
