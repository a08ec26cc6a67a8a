"""Onboarding through a real worker: screening first, the rules, "I agree", rejoin, safety.

Real hikari and arc on the Discord simulator, the kit on the test's Redis and PostgreSQL,
wired as a worker wires itself (``tests.integration.interactions.workers``). What a member
got and when is read from the simulator's role history (``was_pending`` at each change);
role safety from its REST error counts (50013).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Final

import hikari

from shoal.features.core import core_module
from shoal.features.onboarding.module import onboarding_module
from shoal.features.onboarding.rules import ALREADY_AGREED_TEXT
from shoal.features.onboarding.settings import OnboardingSettings
from shoal.interactions.custom_ids import encode
from shoal_sim.discord.server import running_simulator
from tests.integration.features.onboarding.driving import (
    click,
    command,
    member_state,
    place_of,
    submit_rules,
    text_of,
    until,
)
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator
    from tests.integration.features.onboarding.driving import Place
    from tests.integration.interactions.workers import Worker

_INTENTS: Final = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS
_WORLD: Final = command_world(
    members_per_guild=6,
    roles_per_guild=4,
    privileged_intents=1 << 1,
    identify_window_s=0.001,  # two workers identify shard 0 one right after the other
)
_RULES: Final = "1. Be kind.\n2. No spam."


@contextlib.asynccontextmanager
async def _onboarding(
    http: aiohttp.ClientSession,
    redis: Redis,
    keys: RedisKeys,
    postgres: asyncpg.Pool[asyncpg.Record],
    *,
    workers: int = 1,
) -> AsyncIterator[tuple[Simulator, ControlApi, list[Worker]]]:
    async with running_simulator(_WORLD) as sim, contextlib.AsyncExitStack() as stack:
        started = [
            await stack.enter_async_context(
                running_worker(
                    sim,
                    redis,
                    keys,
                    postgres=postgres,
                    features=[core_module, onboarding_module],
                    intents=_INTENTS,
                    generation=generation,
                )
            )
            for generation in range(workers)
        ]
        yield sim, ControlApi(http, sim), started


async def _safe_roles(control: ControlApi, place: Place) -> tuple[int, int]:
    """Create Pre-Member and Member roles below the bot, with no permission at all.

    (The generated roles carry @everyone's default, which has Mention @everyone: a
    dangerous permission for a role anyone gets by clicking.)
    """
    made = []
    for name, position in (("Pre-Member", 1), ("Member", 2)):
        role = await control.call(
            "POST",
            f"/guilds/{place.guild_id}/roles",
            json={"name": name, "position": position, "permissions": 0},
            expect=201,
        )
        made.append(int(role["id"]))
    return made[0], made[1]


async def _write_rules(
    sim: Simulator, control: ControlApi, place: Place, text: str, *, sessions: int = 1
) -> dict[str, Any]:
    """Open the rules form through /onboarding rules and "Edit rules", submit ``text``."""
    shown = await command(sim, control, place, "rules")
    edit = shown["original"]["components"][0]["components"][0]["custom_id"]
    opened = await click(control, place, edit, place.admin_id, sessions=sessions)
    assert opened["response_type"] == 9, opened  # MODAL
    return await submit_rules(control, place, opened["response"]["data"]["custom_id"], text)


async def _set_up(
    sim: Simulator, control: ControlApi, place: Place, *, text: str = _RULES, sessions: int = 1
) -> tuple[int, int, str]:
    """Create and pick safe Pre-Member and Member roles, write and post the rules.

    Returns the Pre-Member and Member role ids and the posted "I agree" custom_id.
    """
    pre_member, member = await _safe_roles(control, place)
    set_up = await command(
        sim,
        control,
        place,
        "setup",
        roles={"pre_member_role": pre_member, "member_role": member},
        channels={"rules_channel": place.rules_channel_id},
    )
    assert "Write the rules with /onboarding rules." in text_of(set_up), text_of(set_up)
    saved = await _write_rules(sim, control, place, text, sessions=sessions)
    assert "Saved the rules (version 1)" in text_of(saved), text_of(saved)
    posted = await command(sim, control, place, "post")
    assert "Posted the rules (version 1)" in text_of(posted), text_of(posted)
    message = await _rules_message(control, place)
    buttons = message["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["View rules", "I agree"]
    agree: str = buttons[1]["custom_id"]
    return pre_member, member, agree


async def _rules_message(control: ControlApi, place: Place) -> dict[str, Any]:
    found = await control.call(
        "GET",
        "/messages",
        query={"channel_id": str(place.rules_channel_id), "author": "bot"},
        expect=200,
    )
    posted = [m for m in found if m["type"] == 0 and m["embeds"] and m["components"]]
    assert len(posted) == 1, found
    message: dict[str, Any] = posted[0]
    return message


async def _join(control: ControlApi, place: Place, **fields: Any) -> int:  # noqa: ANN401
    joined = await control.call(
        "POST", f"/guilds/{place.guild_id}/members", json=fields, expect=201
    )
    return int(joined["user"]["id"])


async def _errors_50013(control: ControlApi) -> int:
    stats = await control.call("GET", "/stats", expect=200)
    return int(stats["errors"].get("50013", 0))


async def test_a_pending_member_gets_pre_member_only_after_screening_completes(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with _onboarding(http, redis_client, keys, postgres_pool) as (sim, control, _):
        place = place_of(sim)
        pre_member, _, _ = await _set_up(sim, control, place)
        await control.call(
            "PATCH", f"/guilds/{place.guild_id}", json={"verification_gate": True}, expect=200
        )
        user = await _join(control, place)
        pattern = keys.event_claim("onboarding-join", 0).rpartition(":")[0] + ":*"

        async def join_handled() -> bool:
            return bool([key async for key in redis_client.scan_iter(match=pattern)])

        await until(join_handled, "the worker to handle the pending join")
        while_pending = await member_state(control, place, user)
        await control.call("POST", f"/guilds/{place.guild_id}/members/{user}/screening", expect=200)

        async def has_pre_member() -> bool:
            state = await member_state(control, place, user)
            return str(pre_member) in state["roles"]

        await until(has_pre_member, "Pre-Member after screening")
        after = await member_state(control, place, user)
    assert while_pending["pending"] is True
    assert while_pending["roles"] == []
    assert while_pending["role_history"] == []
    assert [(c["role_id"], c["change"], c["was_pending"]) for c in after["role_history"]] == [
        (str(pre_member), "added", False)
    ]


_MEMBER_PATCH: Final = "PATCH /guilds/{guild_id}/members/{user_id}"


async def _patches(control: ControlApi) -> int:
    stats = await control.call("GET", "/stats", expect=200)
    return int(stats["rest"]["requests"].get(_MEMBER_PATCH, 0))


async def _new_member_with(control: ControlApi, place: Place, role_id: int) -> int:
    """A member joins (no screening) and waits until onboarding gave it ``role_id``."""
    user = await _join(control, place)

    async def holds() -> bool:
        return str(role_id) in (await member_state(control, place, user))["roles"]

    await until(holds, f"user {user} to get role {role_id}")
    return user


async def test_twenty_clicks_on_two_workers_make_one_role_change_and_a_rejoin_gets_member(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with _onboarding(http, redis_client, keys, postgres_pool, workers=2) as (
        sim,
        control,
        _,
    ):
        place = place_of(sim)
        pre_member, member, agree = await _set_up(sim, control, place, sessions=2)
        user = await _new_member_with(control, place, pre_member)
        patches_before = await _patches(control)
        clicks = await asyncio.gather(
            *(click(control, place, agree, user, sessions=2) for _ in range(20))
        )
        patches_after = await _patches(control)
        agreements = await postgres_pool.fetch(
            "SELECT guild_id, user_id, version FROM onboarding_agreements"
        )
        swapped = await member_state(control, place, user)
        await control.call("DELETE", f"/guilds/{place.guild_id}/members/{user}", expect=200)
        await _join(control, place, user_id=str(user))

        async def member_again() -> bool:
            return str(member) in (await member_state(control, place, user))["roles"]

        await until(member_again, "Member back after the rejoin")
        rejoined = await member_state(control, place, user)
        patches_last = await _patches(control)
        stats = sim.stats
    replies = [text_of(state) for state in clicks]
    assert sum(r.startswith("Thanks for agreeing to the rules: welcome!") for r in replies) == 1
    assert ALREADY_AGREED_TEXT in replies  # a later click: no PATCH (counted below)
    assert sum(r.startswith("You're clicking a little too quickly") for r in replies) == 10
    assert all(state["acknowledge_attempts"] == 1 for state in clicks)
    assert stats.interactions_double_acknowledged == 0
    assert patches_after - patches_before == 1
    assert [tuple(row) for row in agreements] == [(place.guild_id, user, 1)]
    swap = [(c["role_id"], c["change"]) for c in swapped["role_history"]]
    assert swap == [
        (str(pre_member), "added"),
        (str(pre_member), "removed"),
        (str(member), "added"),
    ]
    assert rejoined["roles"] == [str(member)]
    assert [(c["role_id"], c["change"]) for c in rejoined["role_history"][3:]] == [
        (str(member), "added")
    ]
    assert patches_last == patches_after + 1  # the rejoin's one PATCH


async def test_a_dangerous_or_too_high_role_is_refused_at_setup_and_at_click_time(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with _onboarding(http, redis_client, keys, postgres_pool) as (sim, control, workers):
        place = place_of(sim)
        above = await control.call(
            "POST",
            f"/guilds/{place.guild_id}/roles",
            json={"name": "Above", "position": place.bot_role_position + 1, "permissions": 0},
            expect=201,
        )
        channel = {"rules_channel": place.rules_channel_id}
        dangerous = await command(
            sim,
            control,
            place,
            "setup",
            roles={"member_role": place.roles["Admin"]},
            channels=channel,
        )
        too_high = await command(
            sim, control, place, "setup", roles={"member_role": int(above["id"])}, channels=channel
        )
        stored = await workers[0].kit.settings.get(place.guild_id, OnboardingSettings, "onboarding")
        pre_member, member, agree = await _set_up(sim, control, place)
        user = await _new_member_with(control, place, pre_member)
        await control.call(
            "PATCH",
            f"/guilds/{place.guild_id}/roles/{member}",
            json={"position": place.bot_role_position + 2},
            expect=200,
        )
        refused_click = await click(control, place, agree, user)
        report = await command(sim, control, place, "setup")
        await control.call(
            "PATCH",
            f"/guilds/{place.guild_id}/roles/{member}",
            json={"position": 2, "permissions": 1 << 28},  # back below, but Manage Roles
            expect=200,
        )
        dangerous_click = await click(control, place, agree, user)
        held = (await member_state(control, place, user))["roles"]
        errors = await _errors_50013(control)
    assert "Nothing was saved" in text_of(dangerous)
    assert "has Administrator" in text_of(dangerous)
    assert "Nothing was saved" in text_of(too_high)
    assert "is above my highest role" in text_of(too_high)
    assert stored.member_role_id is None
    assert "I cannot give you the role yet" in text_of(refused_click)
    assert "The role @Member is above my highest role" in text_of(refused_click)
    assert "Member role: The role @Member is above my highest role" in text_of(report)
    assert "has Manage Roles" in text_of(dangerous_click)
    assert held == [str(pre_member)]
    assert errors == 0


async def test_view_rules_edit_rules_and_stale_buttons_answer_what_to_do(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with _onboarding(http, redis_client, keys, postgres_pool) as (sim, control, workers):
        place = place_of(sim)
        pre_member, member, old_agree = await _set_up(sim, control, place)
        user = await _new_member_with(control, place, pre_member)
        view = encode("onb", 1, "view")
        viewed = await click(control, place, view, user)
        edited = await _write_rules(sim, control, place, "1. Be kinder.")
        posted = await _rules_message(control, place)
        stale_save = await submit_rules(control, place, "onb:1:save:1", "lost edit")
        await workers[0].kit.settings.update(
            place.guild_id,
            "onboarding",
            {"require_current_version": True, "welcome_message": "Welcome {mention} to {server}!"},
        )
        stale = await click(control, place, old_agree, user)
        new_agree = posted["components"][0]["components"][1]["custom_id"]
        agreed = await click(control, place, new_agree, user)

        async def welcomed() -> bool:
            found = await control.call(
                "GET", "/messages", query={"channel_id": str(place.rules_channel_id)}, expect=200
            )
            return any(m["content"].startswith(f"Welcome <@{user}> to ") for m in found)

        await until(welcomed, "the welcome message")
        held = (await member_state(control, place, user))["roles"]
    assert viewed["original"]["flags"] & 64  # ephemeral
    assert text_of(viewed) == _RULES
    assert "Saved the rules (version 2)" in text_of(edited)
    assert "shows them now" in text_of(edited)
    assert posted["embeds"][0]["description"] == "1. Be kinder."
    assert new_agree == "onb:1:agree:2"
    assert "Someone else saved the rules" in text_of(stale_save)
    assert "The rules have changed since this button was posted" in text_of(stale)
    assert text_of(agreed).startswith("Thanks for agreeing to the rules: welcome!")
    assert held == [str(member)]
