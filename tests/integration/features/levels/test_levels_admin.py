"""The admin ``/xp`` commands through a real worker: set, add, reset, and level rewards.

Real hikari and arc on the Discord simulator. Discord attaches the resolved user and role
of a USER or ROLE option to the interaction; the commands are emitted through the
simulator's own event function with that data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import hikari

from shoal.features.core import core_module
from shoal.features.levels.module import levels_module
from shoal.features.levels.service import LevelsService
from shoal.features.levels.settings import LevelsSettings
from shoal_sim.discord import events, payloads
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.answers import answer_of
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator

_INTENTS: Final = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS
_WORLD: Final = command_world(members_per_guild=10, roles_per_guild=2, privileged_intents=1 << 1)
_SUBCOMMAND: Final = 1
_INTEGER: Final = 4
_USER: Final = 6
_ROLE: Final = 8


async def _xp(sim: Simulator, control: ControlApi, guild_id: int, sub: str, **options: int) -> str:
    """Run ``/xp <sub>`` as the guild's first member; return the reply's text."""
    guild = sim.world.guilds[guild_id]
    roles, _, members = sim.world.contents(guild)
    bot_id = sim.world.bot_member(guild).user_id
    admin = min(u for u in members if u != bot_id)
    listed: list[dict[str, Any]] = []
    resolved: dict[str, dict[str, Any]] = {}
    for name, value in options.items():
        if name == "member":
            listed.append({"type": _USER, "name": name, "value": str(value)})
            user = payloads.user_of(sim.world, value)
            resolved.setdefault("users", {})[str(value)] = payloads.user_json(user)
            member = payloads.member_json(members[value], user, with_user=False)
            # Discord adds the member's permissions in the channel to a resolved member.
            resolved.setdefault("members", {})[str(value)] = {**member, "permissions": "0"}
        elif name == "role":
            listed.append({"type": _ROLE, "name": name, "value": str(value)})
            resolved.setdefault("roles", {})[str(value)] = payloads.role_json(roles[value])
        else:
            listed.append({"type": _INTEGER, "name": name, "value": value})
    data: dict[str, Any] = {
        "id": str(sim.world.ids.next_id()),
        "name": "xp",
        "type": 1,
        "guild_id": str(guild_id),
        "options": [{"type": _SUBCOMMAND, "name": sub, "options": listed}],
        **({"resolved": resolved} if resolved else {}),
    }
    channel_id = min(c for c in sim.world.contents(guild)[1])
    interaction, reached = events.emit_interaction(
        sim,
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=admin,
        interaction_type=2,
        data=data,
    )
    assert reached >= 1
    answer = await answer_of(control, str(interaction.id))
    content: str = answer["original"]["content"]
    return content


async def test_admins_set_add_and_reset_xp_and_set_level_rewards_safely(
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
        _, _, members = sim.world.contents(guild)
        bot_id = sim.world.bot_member(guild).user_id
        member = max(u for u in members if u != bot_id)
        ledger = worker.client.get_type_dependency(LevelsService).ledger

        set_reply = await _xp(sim, control, guild_id, "set", member=member, amount=450)
        added = await _xp(sim, control, guild_id, "add", member=member, amount=-50)
        after_add = await ledger.rank_of(guild_id, member)
        reset = await _xp(sim, control, guild_id, "reset", member=member)
        after_reset = await ledger.rank_of(guild_id, member)

        safe = await control.call(
            "POST",
            f"/guilds/{guild_id}/roles",
            json={"name": "Regular", "position": 1, "permissions": 0},
            expect=201,
        )
        banning = await control.call(
            "POST",
            f"/guilds/{guild_id}/roles",
            json={"name": "Bouncer", "position": 1, "permissions": 1 << 2},
            expect=201,
        )
        errors_before = (await control.call("GET", "/stats", expect=200))["errors"].get("50013", 0)
        refused = await _xp(sim, control, guild_id, "reward", level=3, role=int(banning["id"]))
        refused_settings = await worker.kit.settings.get(guild_id, LevelsSettings, "levels")
        given = await _xp(sim, control, guild_id, "reward", level=5, role=int(safe["id"]))
        listed = await _xp(sim, control, guild_id, "rewards")
        stored = await worker.kit.settings.get(guild_id, LevelsSettings, "levels")
        removed = await _xp(sim, control, guild_id, "unreward", level=5)
        missing = await _xp(sim, control, guild_id, "unreward", level=5)
        final = await worker.kit.settings.get(guild_id, LevelsSettings, "levels")
        errors_after = (await control.call("GET", "/stats", expect=200))["errors"].get("50013", 0)

    assert set_reply == f"<@{member}> now has 450 XP (level 2)."
    assert added == f"<@{member}> now has 400 XP (level 2)."
    assert after_add is not None
    assert after_add[1] == 400
    assert reset == f"<@{member}>'s XP is reset to 0."
    assert after_reset is None or after_reset[1] == 0
    assert refused.startswith("Nothing changed.")
    assert "Ban Members" in refused
    assert refused_settings.level_roles == {}
    assert given.startswith(f"Members who reach level 5 now get <@&{safe['id']}>")
    assert stored.level_roles == {5: int(safe["id"])}
    assert f"Level 5: <@&{safe['id']}>" in listed
    assert removed == f"Level 5 no longer gives <@&{safe['id']}> (members keep it)."
    assert missing.startswith("Level 5 has no reward")
    assert final.level_roles == {}
    assert errors_after == errors_before  # nothing Discord would refuse was sent
