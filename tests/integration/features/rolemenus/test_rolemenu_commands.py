"""Role menus through a real worker: admins build and post menus, members pick roles.

Real hikari and arc on the Discord simulator, the kit on the test's Redis and PostgreSQL,
wired as a worker wires itself (``tests.integration.interactions.workers``). Every member
choice is checked in the simulator: the member's roles, the member PATCHes counted, and no
50013 answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Any, Final

import hikari

from shoal.features.core import core_module
from shoal.features.rolemenus.module import rolemenus_module
from shoal.features.rolemenus.rendering import button_custom_id, select_custom_id
from shoal.features.rolemenus.service import RoleMenusService
from shoal.kit.roles import BAN_MEMBERS
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.answers import EPHEMERAL, answer_of
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.features.rolemenus.rules import RoleMenu
    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator
    from tests.integration.interactions.workers import Worker

_INTENTS: Final = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS
_WORLD: Final = command_world(members_per_guild=6, roles_per_guild=2, privileged_intents=1 << 1)
_PATCH_MEMBER: Final = "PATCH /guilds/{guild_id}/members/{user_id}"
_OPTION_TYPES: Final = {str: 3, int: 4}
_EDIT_MESSAGE: Final = "PATCH /channels/{channel_id}/messages/{message_id}"


async def _eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 5
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s} s"
        await asyncio.sleep(0.02)


def _message_of(state: dict[str, Any]) -> dict[str, Any] | None:
    """Return the answer's message: the original, else the last follow-up (after a deferral)."""
    if state["followups"]:
        message: dict[str, Any] = state["followups"][-1]
        return message
    original: dict[str, Any] | None = state["original"]
    return original


@dataclasses.dataclass(slots=True)
class _Guild:
    """One simulated guild as a test drives it: an admin's commands, a member's clicks."""

    sim: Simulator
    control: ControlApi
    worker: Worker
    guild_id: int
    member_id: int

    @property
    def service(self) -> RoleMenusService:
        return self.worker.client.get_type_dependency(RoleMenusService)

    async def role(self, name: str, *, permissions: int = 0, position: int = 1) -> int:
        created = await self.control.call(
            "POST",
            f"/guilds/{self.guild_id}/roles",
            json={"name": name, "permissions": permissions, "position": position},
            expect=201,
        )
        return int(created["id"])

    async def allow(self, *role_ids: int) -> None:
        await self.worker.kit.settings.update(
            self.guild_id, "rolemenus", {"allowed_role_ids": list(role_ids)}
        )

    async def admin(self, sub: str, **options: str | int) -> str:
        """Run ``/rolemenu sub`` as an admin; return the private answer's text."""
        body = {
            "type": "command",
            "guild_id": str(self.guild_id),
            "name": "rolemenu",
            "options": [
                {
                    "type": 1,
                    "name": sub,
                    "options": [
                        {"type": _OPTION_TYPES[type(value)], "name": key, "value": value}
                        for key, value in options.items()
                    ],
                }
            ],
        }
        injected = await self.control.call("POST", "/interactions", json=body, expect=201)
        return await self._text(injected["id"])

    async def click(
        self, custom_id: str, *, values: list[int] | None = None, message_id: int | None = None
    ) -> str:
        """Press a button (or choose ``values`` in a select) as the member; return the reply."""
        body: dict[str, Any] = {
            "type": "component",
            "guild_id": str(self.guild_id),
            "user_id": str(self.member_id),
            "custom_id": custom_id,
            "component_type": "button" if values is None else "string_select",
        }
        if values is not None:
            body["values"] = [str(value) for value in values]
        if message_id is not None:
            body["message_id"] = str(message_id)
        injected = await self.control.call("POST", "/interactions", json=body, expect=201)
        return await self._text(injected["id"])

    async def _text(self, interaction_id: str) -> str:
        state = await answer_of(
            self.control, interaction_id, until=lambda s: _message_of(s) is not None
        )
        message = _message_of(state)
        assert message is not None
        assert message["flags"] & EPHEMERAL, message
        content: str = message["content"]
        return content

    async def member_roles(self) -> set[int]:
        state = await self.control.call(
            "GET", f"/guilds/{self.guild_id}/members/{self.member_id}", expect=200
        )
        return {int(role_id) for role_id in state["roles"]}

    async def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = await self.control.call("GET", "/stats", expect=200)
        return found

    async def patches(self) -> int:
        count: int = (await self.stats())["rest"]["requests"].get(_PATCH_MEMBER, 0)
        return count

    async def menus(self) -> tuple[RoleMenu, ...]:
        return await self.service.repository.list_menus(self.guild_id)

    async def posted(self, menu: RoleMenu) -> dict[str, Any]:
        """Return the menu's posted message as the simulator holds it."""
        found = await self.service.repository.get_menu(self.guild_id, menu.menu_id)
        assert found is not None
        assert found.channel_id is not None
        assert found.message_id is not None
        messages = await self.control.call(
            "GET", "/messages", query={"channel_id": str(found.channel_id)}, expect=200
        )
        message: dict[str, Any] = next(m for m in messages if int(m["id"]) == found.message_id)
        return message


def _guild_of(sim: Simulator, control: ControlApi, worker: Worker) -> _Guild:
    guild_id = min(sim.world.guilds)
    guild = sim.world.guilds[guild_id]
    _, _, members = sim.world.contents(guild)
    bot_id = sim.world.bot_member(guild).user_id
    member_id = min(user for user in members if user != bot_id)
    return _Guild(sim, control, worker, guild_id, member_id)


async def _menu(guild: _Guild, title: str) -> RoleMenu:
    return next(menu for menu in await guild.menus() if menu.spec.title == title)


async def test_a_select_menu_gives_the_choice_in_one_patch_within_min_and_max(
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
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
        ) as worker,
    ):
        guild = _guild_of(sim, ControlApi(http, sim), worker)
        red, green, blue = [await guild.role(name) for name in ("Red", "Green", "Blue")]
        await guild.allow(red, green, blue)
        created = await guild.admin(
            "create", title="Colours", kind="select", mode="multiple", min=1, max=2
        )
        menu = await _menu(guild, "Colours")
        unposted = await guild.admin("post", menu=menu.menu_id)
        for role_id, emoji in ((red, "🟥"), (green, "🟩"), (blue, "🟦")):
            await guild.admin("add", menu=menu.menu_id, role=str(role_id), emoji=emoji)
        posted = await guild.admin("post", menu=menu.menu_id)
        message = await guild.posted(menu)
        before = await guild.member_roles()
        patches = await guild.patches()
        custom_id = select_custom_id(menu.menu_id)
        mid = int(message["id"])
        first = await guild.click(custom_id, values=[red, green], message_id=mid)
        after_first = await guild.member_roles()
        again = await guild.click(custom_id, values=[red, green], message_id=mid)
        patches_after_two = await guild.patches()
        switched = await guild.click(custom_id, values=[blue], message_id=mid)
        after_switch = await guild.member_roles()
        too_many = await guild.click(custom_id, values=[red, green, blue], message_id=mid)
        too_few = await guild.click(custom_id, values=[], message_id=mid)
        patches_at_end = await guild.patches()
        roles_at_end = await guild.member_roles()
        listed = await guild.admin("list")
        errors = (await guild.stats())["errors"]
    assert f'Created role menu {menu.menu_id}, "Colours"' in created
    assert unposted.startswith("Not posted: A menu has 1 to 25 roles; this one has 0.")
    assert posted == f'Posted "Colours" in <#{message["channel_id"]}>.'
    (row,) = message["components"]
    (select,) = row["components"]
    assert select["custom_id"] == f"rm:1:{menu.menu_id}"
    assert (select["min_values"], select["max_values"]) == (1, 2)
    assert [o["value"] for o in select["options"]] == [str(red), str(green), str(blue)]
    assert [o["label"] for o in select["options"]] == ["Red", "Green", "Blue"]
    assert message["embeds"][0]["title"] == "Colours"
    assert first == f"Added <@&{red}>, <@&{green}>."
    assert after_first == before | {red, green}
    assert again == "Nothing to change: you already have these roles."
    assert patches_after_two == patches + 1  # one PATCH, none for the repeat
    assert switched == f"Added <@&{blue}>. Removed <@&{red}>, <@&{green}>."
    assert after_switch == before | {blue}
    assert too_many == "You can pick at most 2 of these roles."
    assert too_few == "Pick at least 1 of these roles."
    assert patches_at_end == patches + 2
    assert roles_at_end == before | {blue}
    assert f"`{menu.menu_id}` **Colours**: select, multiple, 1 to 2; 3 roles; posted in" in listed
    assert "50013" not in errors


async def test_buttons_in_single_mode_swap_the_role_with_one_patch_each(
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
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
        ) as worker,
    ):
        guild = _guild_of(sim, ControlApi(http, sim), worker)
        cats, dogs = await guild.role("Cats"), await guild.role("Dogs")
        await guild.allow(cats, dogs)
        await guild.admin("create", title="Team", kind="buttons", mode="single")
        menu = await _menu(guild, "Team")
        described = await guild.admin("add", menu=menu.menu_id, role="Cats", description="Meow")
        await guild.admin("add", menu=menu.menu_id, role="@cats", label="Team cats")
        await guild.admin("add", menu=menu.menu_id, role=f"<@&{dogs}>")
        await guild.admin("post", menu=menu.menu_id)
        message = await guild.posted(menu)
        before = await guild.member_roles()
        patches = await guild.patches()
        mid = int(message["id"])
        took_cats = await guild.click(button_custom_id(menu.menu_id, cats), message_id=mid)
        with_cats = await guild.member_roles()
        took_dogs = await guild.click(button_custom_id(menu.menu_id, dogs), message_id=mid)
        with_dogs = await guild.member_roles()
        dropped = await guild.click(button_custom_id(menu.menu_id, dogs), message_id=mid)
        with_none = await guild.member_roles()
        forged = await guild.click(button_custom_id(menu.menu_id, 12345), message_id=mid)
        patches_at_end = await guild.patches()
    assert "buttons show no description" in described
    (row,) = message["components"]
    assert [(b["label"], b["custom_id"]) for b in row["components"]] == [
        ("Team cats", f"rm:1:{menu.menu_id}:{cats}"),
        ("Dogs", f"rm:1:{menu.menu_id}:{dogs}"),
    ]
    assert took_cats == f"Added <@&{cats}>."
    assert with_cats == before | {cats}
    assert took_dogs == f"Added <@&{dogs}>. Removed <@&{cats}>."
    assert with_dogs == before | {dogs}
    assert dropped == f"Removed <@&{dogs}>."
    assert with_none == before
    assert forged == "That role is no longer on this menu: nothing changed."
    assert patches_at_end == patches + 3


async def test_unsafe_roles_are_refused_at_add_and_again_at_click_with_no_50013(
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
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
        ) as worker,
    ):
        guild = _guild_of(sim, ControlApi(http, sim), worker)
        mods = await guild.role("Mods", permissions=BAN_MEMBERS)
        gold, silver, stranger = (
            await guild.role("Gold"),
            await guild.role("Silver"),
            await guild.role("Stranger"),
        )
        await guild.allow(mods, gold, silver)
        await guild.admin("create", title="Ranks", kind="buttons", mode="multiple")
        menu = await _menu(guild, "Ranks")
        dangerous = await guild.admin("add", menu=menu.menu_id, role=str(mods))
        not_allowed = await guild.admin("add", menu=menu.menu_id, role=str(stranger))
        await guild.admin("add", menu=menu.menu_id, role=str(gold))
        await guild.admin("add", menu=menu.menu_id, role=str(silver))
        await guild.admin("post", menu=menu.menu_id)
        mid = int((await guild.posted(menu))["id"])
        await guild.click(button_custom_id(menu.menu_id, silver), message_id=mid)  # warm cache
        bot_role = sim.world.bot_role_id(sim.world.guilds[guild.guild_id])
        bot_position = sim.world.contents(sim.world.guilds[guild.guild_id])[0][bot_role].position
        await guild.control.call(
            "PATCH",
            f"/guilds/{guild.guild_id}/roles/{gold}",
            json={"position": bot_position + 1},
            expect=200,
        )

        async def seen_raised() -> bool:  # the role event reached the worker's cache
            standing = await guild.service.standing(guild.guild_id)
            return standing.roles[gold].position == bot_position + 1

        await _eventually(seen_raised, "the worker hearing of the raised role")
        before = await guild.member_roles()
        patches = await guild.patches()
        refused = await guild.click(button_custom_id(menu.menu_id, gold), message_id=mid)
        silver_still = await guild.click(button_custom_id(menu.menu_id, silver), message_id=mid)
        posting_again = await guild.admin("post", menu=menu.menu_id)
        listed = await guild.admin("list")
        patches_at_end = await guild.patches()
        roles_at_end = await guild.member_roles()
        errors = (await guild.stats())["errors"]
        stored = await guild.service.repository.get_menu(guild.guild_id, menu.menu_id)
    assert dangerous == (
        "Not added: The role @Mods has Ban Members, which self-assigned roles must never "
        "have. Pick a role without moderation permissions."
    )
    assert not_allowed.startswith(
        "Not added: The role @Stranger is not on this server's allow-list"
    )
    assert "/settings set module:rolemenus field:allowed_role_ids" in not_allowed
    assert stored is not None
    assert [o.role_id for o in stored.spec.options] == [gold, silver]
    assert refused == (
        f"I could not change <@&{gold}>: ask the server's admins to check this menu."
    )
    assert silver_still == f"Removed <@&{silver}>."
    assert posting_again.startswith("Not posted: The role @Gold is above my highest role")
    # The click's refusal waits for the admins' next command, and is told once.
    assert (
        f'**For the admins:**\n- Role menu "Ranks" (id {menu.menu_id}): The role @Gold is above'
        in (posting_again)
    )
    assert "**For the admins:**" not in listed
    assert gold not in roles_at_end
    assert roles_at_end == before - {silver}
    assert patches_at_end == patches + 1  # silver only: gold never reached Discord
    assert "50013" not in errors


async def test_a_deleted_role_disables_its_option_and_the_rest_keeps_working(
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
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
        ) as worker,
    ):
        guild = _guild_of(sim, ControlApi(http, sim), worker)
        red, green, blue = [await guild.role(name) for name in ("Red", "Green", "Blue")]
        await guild.allow(red, green, blue)
        await guild.admin("create", title="Colours", kind="select", mode="multiple")
        menu = await _menu(guild, "Colours")
        for role_id in (red, green, blue):
            await guild.admin("add", menu=menu.menu_id, role=str(role_id))
        await guild.admin("post", menu=menu.menu_id)
        mid = int((await guild.posted(menu))["id"])
        custom_id = select_custom_id(menu.menu_id)
        await guild.click(custom_id, values=[red, green], message_id=mid)
        await guild.control.call("DELETE", f"/guilds/{guild.guild_id}/roles/{green}", expect=200)

        async def rerendered() -> bool:
            message = await guild.posted(menu)
            options = message["components"][0]["components"][0]["options"]
            return [o["value"] for o in options] == [str(red), str(blue)]

        await _eventually(rerendered, "the posted menu without the deleted role")
        stored = await guild.service.repository.get_menu(guild.guild_id, menu.menu_id)
        chosen = await guild.click(custom_id, values=[red, blue], message_id=mid)
        roles = await guild.member_roles()
        listed = await guild.admin("list")
        listed_again = await guild.admin("list")
        errors = (await guild.stats())["errors"]
    assert stored is not None
    assert [(o.role_id, o.is_disabled) for o in stored.spec.options] == [
        (red, False),
        (green, True),
        (blue, False),
    ]
    assert chosen == f"Added <@&{blue}>."
    assert {red, blue} <= roles
    assert green not in roles
    assert "3 roles (1 disabled: role deleted)" in listed
    assert 'the role of "Green" was deleted, so that option is disabled' in listed
    assert "**For the admins:**" not in listed_again  # told once
    assert "50013" not in errors


async def test_buttons_keep_working_when_a_new_worker_handles_the_old_message(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with running_simulator(_WORLD) as sim:
        control = ControlApi(http, sim)
        async with running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
        ) as first:
            guild = _guild_of(sim, control, first)
            cats = await guild.role("Cats")
            await guild.allow(cats)
            await guild.admin("create", title="Pets", kind="buttons", mode="multiple")
            menu = await _menu(guild, "Pets")
            await guild.admin("add", menu=menu.menu_id, role=str(cats))
            await guild.admin("post", menu=menu.menu_id)
            message = await guild.posted(menu)
        old_custom_id = message["components"][0]["components"][0]["custom_id"]
        async with running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
        ) as second:
            guild.worker = second
            before = await guild.member_roles()
            took = await guild.click(old_custom_id, message_id=int(message["id"]))
            after = await guild.member_roles()
    assert old_custom_id == f"rm:1:{menu.menu_id}:{cats}"
    assert took == f"Added <@&{cats}>."
    assert after == before | {cats}


async def test_autocomplete_suggests_the_menus_and_the_allow_listed_roles(
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
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
        ) as worker,
    ):
        guild = _guild_of(sim, ControlApi(http, sim), worker)
        red, green = await guild.role("Red"), await guild.role("Green")
        await guild.role("Not allowed")
        await guild.allow(red, green)
        await guild.admin("create", title="Colours", kind="select", mode="single")
        menu = await _menu(guild, "Colours")

        async def suggest(focused: str, typed: str) -> list[tuple[str, Any]]:
            options: list[dict[str, Any]] = [
                {"type": 4, "name": "menu", "value": menu.menu_id},
                {"type": 3, "name": "role", "value": ""},
            ]
            for option in options:
                if option["name"] == focused:
                    option |= {"value": typed, "focused": True, "type": 3}
            body = {
                "type": "autocomplete",
                "guild_id": str(guild.guild_id),
                "name": "rolemenu",
                "options": [{"type": 1, "name": "add", "options": options}],
            }
            injected = await guild.control.call("POST", "/interactions", json=body, expect=201)
            state = await answer_of(guild.control, injected["id"])
            return [(c["name"], c["value"]) for c in state["response"]["data"]["choices"]]

        menus = await suggest("menu", "col")
        roles = await suggest("role", "")
        greens = await suggest("role", "gr")
    assert menus == [(f"{menu.menu_id}: Colours", menu.menu_id)]
    assert sorted(roles) == sorted([("@Red", str(red)), ("@Green", str(green))])
    assert greens == [("@Green", str(green))]


async def test_a_deleted_role_is_handled_once_when_two_generations_hear_of_it(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    # One worker claims the event; behind the claim, disabling is a conditional UPDATE, so
    # even a worker that ran it again (Redis down: claims count as won) changes nothing.
    world = dataclasses.replace(_WORLD, identify_window_s=0.001)  # both identify shard 0
    async with (
        running_simulator(world) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
            generation=1,
        ) as old,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module, rolemenus_module],
            intents=_INTENTS,
            shard_ids=(0, 1),
            shard_count=2,
            generation=2,
        ) as new,
    ):
        guild = _guild_of(sim, ControlApi(http, sim), old)
        red, green = await guild.role("Red"), await guild.role("Green")
        await guild.allow(red, green)
        await guild.admin("create", title="Colours", kind="buttons", mode="multiple")
        menu = await _menu(guild, "Colours")
        for role_id in (red, green):
            await guild.admin("add", menu=menu.menu_id, role=str(role_id))
        await guild.admin("post", menu=menu.menu_id)
        edits_before = (await guild.stats())["rest"]["requests"].get(_EDIT_MESSAGE, 0)
        deleted = await guild.control.call(
            "DELETE", f"/guilds/{guild.guild_id}/roles/{green}", expect=200
        )

        async def greyed() -> bool:
            buttons = (await guild.posted(menu))["components"][0]["components"]
            return [b.get("disabled", False) for b in buttons] == [False, True]

        await _eventually(greyed, "the deleted role's button greyed out")
        await asyncio.sleep(0.3)  # time for a second, wrong, handling to show
        edits = (await guild.stats())["rest"]["requests"].get(_EDIT_MESSAGE, 0) - edits_before
        alerts_old = await guild.service.take_alerts(guild.guild_id)
        guild.worker = new
        alerts_new = await guild.service.take_alerts(guild.guild_id)
    assert deleted["sessions_notified"] == 2
    assert edits == 1
    assert len(alerts_old) == 1
    assert '"Green" was deleted' in alerts_old[0]
    assert alerts_new == ()
