"""Levels through a real worker: chat earns XP, level-ups announce and reward, /rank, /leaderboard.

Real hikari and arc on the Discord simulator, the kit on the test's Redis and PostgreSQL,
wired as a worker wires itself (``tests.integration.interactions.workers``).
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import TYPE_CHECKING, Any

import hikari
from PIL import Image

from shoal.features.core import core_module
from shoal.features.levels.module import levels_module
from shoal.features.levels.service import LevelsService
from shoal.features.levels.settings import LevelsSettings
from shoal.interactions.custom_ids import encode
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.answers import answer_of, inject_click
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

_INTENTS = hikari.Intents.GUILDS | hikari.Intents.GUILD_MESSAGES | hikari.Intents.GUILD_MEMBERS
_WORLD = command_world(members_per_guild=30, roles_per_guild=4, privileged_intents=1 << 1)


async def _eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 5
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s} s"
        await asyncio.sleep(0.02)


async def _command(control: ControlApi, guild: int, name: str, **options: Any) -> dict[str, Any]:  # noqa: ANN401
    kinds = {str: 3, int: 4}
    body = {
        "type": "command",
        "guild_id": str(guild),
        "name": name,
        "options": [
            {"type": kinds[type(value)], "name": key, "value": value}
            for key, value in options.items()
        ],
    }
    injected = await control.call("POST", "/interactions", json=body, expect=201)
    answer = await answer_of(control, injected["id"])
    original: dict[str, Any] = answer["original"]
    return original


async def test_chatting_earns_xp_once_a_minute_and_rank_and_leaderboard_show_it(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(_WORLD) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module, levels_module],
            intents=_INTENTS,
            images=True,
        ) as worker,
    ):
        control = ControlApi(http, sim)
        guild = min(sim.world.guilds)
        _, _, members = sim.world.contents(sim.world.guilds[guild])
        bot_id = sim.world.bot_member(sim.world.guilds[guild]).user_id
        chatters = sorted(user for user in members if user != bot_id)[:12]
        for user in chatters:  # 3 messages each inside the cooldown: 10 XP each
            for _ in range(3):
                await control.call(
                    "POST",
                    "/messages",
                    json={"guild_id": str(guild), "user_id": str(user)},
                    expect=201,
                )
        levels = worker.kit.app  # noqa: F841 - the bot is up
        service = worker.client.get_type_dependency(LevelsService)

        async def all_granted() -> bool:
            return await service.ledger.count(guild) == len(chatters)

        await _eventually(all_granted, "XP for every chatter")
        ranks = [await service.ledger.rank_of(guild, user) for user in chatters]
        rank = await _command(control, guild, "rank")
        board = await _command(control, guild, "leaderboard")
        next_page = await answer_of(
            control, await inject_click(control, guild, encode("lvlpage", 1, 2))
        )
        async with http.get(rank["attachments"][0]["url"]) as response:
            card = Image.open(io.BytesIO(await response.read()))
    assert {xp for _, xp in ranks if True} == {10}  # type: ignore[misc]
    embed = rank["embeds"][0]
    assert "Total: 10 XP" in embed["description"]
    assert "of 12" in embed["description"]
    assert card.format == "PNG"
    lines = board["embeds"][0]["description"].splitlines()
    assert len(lines) == 10
    assert board["embeds"][0]["footer"]["text"] == "Page 1 of 2 · 12 members with XP"
    assert len(board["components"][0]["components"]) == 2
    page_two = next_page["original"] or next_page["response"]["data"]
    assert page_two["embeds"][0]["footer"]["text"] == "Page 2 of 2 · 12 members with XP"


async def test_a_level_up_is_announced_once_and_rewarded_with_one_patch(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(_WORLD) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module, levels_module],
            intents=_INTENTS,
        ) as worker,
    ):
        control = ControlApi(http, sim)
        guild_id = min(sim.world.guilds)
        guild = sim.world.guilds[guild_id]
        roles, _channels = sim.world.structure(guild)
        reward = next(role.id for role in roles.values() if role.name == "role-3")
        _, _, members = sim.world.contents(guild)
        bot_id = sim.world.bot_member(guild).user_id
        user = min(u for u in members if u != bot_id)
        await worker.kit.settings.update(
            guild_id,
            "levels",
            {"level_roles": {"1": reward}, "announce_template": "{user} is {level}!"},
        )
        service = worker.client.get_type_dependency(LevelsService)
        await service.ledger.set_xp(guild_id, user, 95)
        await control.call(
            "POST", "/messages", json={"guild_id": str(guild_id), "user_id": str(user)}, expect=201
        )

        async def announced() -> bool:
            found = await control.call("GET", "/messages?author=bot", expect=200)
            return any(m["content"] == f"<@{user}> is 1!" for m in found)

        await _eventually(announced, "the level-up announcement")

        async def rewarded() -> bool:
            _, _, now = sim.world.contents(guild)
            return reward in now[user].role_ids

        await _eventually(rewarded, "the reward role")
        found = await control.call("GET", "/messages?author=bot", expect=200)
    assert [m["content"] for m in found].count(f"<@{user}> is 1!") == 1
    assert LevelsSettings().announce
