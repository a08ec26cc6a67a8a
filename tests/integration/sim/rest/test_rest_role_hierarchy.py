"""The role hierarchy over REST: what the bot may grant, create and move, and 50013 counted.

Every generated guild gives the bot one managed role on top of the generated ones, with
MANAGE_ROLES; @everyone has Discord's default (no MANAGE_ROLES), so the bot manages
roles only through its own role, as in a real guild.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import hikari
import pytest

from shoal_sim.discord import intents
from shoal_sim.discord.settings import DEFAULT_TOKEN
from shoal_sim.discord.world import generated_member_id
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.rest.gateway_listening import listening

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.rest.api import Api

_MEMBER: Final = "/guilds/{guild_id}/members/{user_id}"
_MEMBER_ROLE: Final = _MEMBER + "/roles/{role_id}"
_MISSING_PERMISSIONS: Final = {"message": "Missing Permissions", "code": 50013}


async def _errors(control: ControlApi) -> dict[str, int]:
    stats = await control.call("GET", "/stats", expect=200)
    errors: dict[str, int] = stats["errors"]
    return errors


async def _new_role(control: ControlApi, guild: Guild, **fields: Any) -> int:  # noqa: ANN401
    created = await control.call("POST", f"/guilds/{guild.id}/roles", json=fields, expect=201)
    return int(created["id"])


def _bot_top(sim: Simulator, guild: Guild) -> int:
    return sim.world.contents(guild)[0][sim.world.bot_role_id(guild)].position


def _plain_role(sim: Simulator, guild: Guild) -> int:
    roles = sim.world.contents(guild)[0]
    return next(r.id for r in roles.values() if r.name == "role-4")


@pytest.fixture
def control(http: aiohttp.ClientSession, sim: Simulator) -> ControlApi:
    """The control API of ``sim``."""
    return ControlApi(http, sim)


async def test_role_grant_is_refused_and_counted_when_the_role_is_not_below_the_bot(
    api: Api, control: ControlApi, sim: Simulator, guild: Guild
) -> None:
    above = await _new_role(control, guild, name="above", position=_bot_top(sim, guild) + 1)
    managed = await _new_role(control, guild, name="integration", position=1, managed=True)
    member = {"guild_id": guild.id, "user_id": generated_member_id(guild, 3)}
    refusals = [above, sim.world.bot_role_id(guild), managed, guild.id]
    before = (await _errors(control)).get("50013", 0)
    for role_id in refusals:
        refused = await api.call("PUT", _MEMBER_ROLE, path=member | {"role_id": role_id})
        assert (refused.status, refused.body) == (403, _MISSING_PERMISSIONS), role_id
    assert (await _errors(control)).get("50013", 0) == before + len(refusals)
    held = sim.world.contents(guild)[2][member["user_id"]].role_ids
    assert not set(refusals) & set(held)


async def test_role_grant_is_allowed_and_recorded_when_the_role_is_below_the_bot(
    api: Api, control: ControlApi, sim: Simulator, guild: Guild
) -> None:
    role_id = _plain_role(sim, guild)
    user_id = generated_member_id(guild, 6)
    await control.call(
        "PUT", f"/guilds/{guild.id}/members/{user_id}/roles", json={"role_ids": []}, expect=200
    )
    path = {"guild_id": guild.id, "user_id": user_id, "role_id": role_id}
    await api.call("PUT", _MEMBER_ROLE, path=path, expect=204)
    await api.call("DELETE", _MEMBER_ROLE, path=path, expect=204)
    state = await control.call("GET", f"/guilds/{guild.id}/members/{user_id}", expect=200)
    assert [(h["change"], h["source"]) for h in state["role_history"][-2:]] == [
        ("added", "rest-put"),
        ("removed", "rest-delete"),
    ]
    assert "50013" not in await _errors(control)


async def test_role_grant_answers_unknown_role_when_the_path_names_no_role(
    api: Api, guild: Guild
) -> None:
    path = {"guild_id": guild.id, "user_id": generated_member_id(guild, 3), "role_id": 12345}
    refused = await api.call("PUT", _MEMBER_ROLE, path=path, expect=404)
    assert refused.body == {"message": "Unknown Role", "code": 10011}


async def test_member_patch_answers_invalid_form_body_when_a_role_is_unknown(
    api: Api, sim: Simulator, guild: Guild
) -> None:
    member = {"guild_id": guild.id, "user_id": generated_member_id(guild, 3)}
    refused = await api.call(
        "PATCH",
        _MEMBER,
        path=member,
        json={"roles": [str(_plain_role(sim, guild)), "12345"]},
        expect=400,
    )
    assert refused.body == {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {
            "roles": {"1": {"_errors": [{"code": "UNKNOWN_ROLE", "message": "Unknown role"}]}}
        },
    }


async def test_member_patch_sets_roles_and_announces_them_when_the_roles_are_below_the_bot(
    api: Api, control: ControlApi, sim: Simulator, guild: Guild, http: aiohttp.ClientSession
) -> None:
    above = await _new_role(control, guild, name="above", position=_bot_top(sim, guild) + 1)
    below = _plain_role(sim, guild)
    user_id = generated_member_id(guild, 8)
    member = {"guild_id": guild.id, "user_id": user_id}
    await control.call(
        "PUT",
        f"/guilds/{guild.id}/members/{user_id}/roles",
        json={"role_ids": [str(above)]},
        expect=200,
    )
    async with listening(http, sim, intents=intents.GUILDS | intents.GUILD_MEMBERS) as gateway:
        kept = await api.call(
            "PATCH", _MEMBER, path=member, json={"roles": [str(above), str(below)]}, expect=200
        )
        updated = await gateway.next_event("GUILD_MEMBER_UPDATE")
    dropped = await api.call("PATCH", _MEMBER, path=member, json={"roles": []})
    assert kept.body["roles"] == [str(above), str(below)]
    assert updated["roles"] == [str(above), str(below)]
    assert updated["guild_id"] == str(guild.id)
    assert (dropped.status, dropped.body) == (403, _MISSING_PERMISSIONS)  # above goes too
    state = await control.call("GET", f"/guilds/{guild.id}/members/{user_id}", expect=200)
    assert state["roles"] == [str(above), str(below)]
    assert state["role_history"][-1]["source"] == "rest-patch"


async def test_role_writes_are_refused_when_the_bot_loses_its_managed_role(
    api: Api, control: ControlApi, sim: Simulator, guild: Guild
) -> None:
    bot_id = sim.world.bot_member(guild).user_id
    await control.call(
        "PUT", f"/guilds/{guild.id}/members/{bot_id}/roles", json={"role_ids": []}, expect=200
    )
    path = {"guild_id": guild.id, "user_id": generated_member_id(guild, 3)}
    grant = await api.call("PUT", _MEMBER_ROLE, path=path | {"role_id": _plain_role(sim, guild)})
    create = await api.call(
        "POST", "/guilds/{guild_id}/roles", path={"guild_id": guild.id}, json={"name": "x"}
    )
    assert (grant.status, grant.body) == (403, _MISSING_PERMISSIONS)
    assert (create.status, create.body) == (403, _MISSING_PERMISSIONS)


async def test_role_create_and_move_are_refused_when_they_would_outrank_the_bot(
    api: Api, sim: Simulator, guild: Guild
) -> None:
    g = {"guild_id": guild.id}
    admin = await api.call(
        "POST", "/guilds/{guild_id}/roles", path=g, json={"name": "a", "permissions": "8"}
    )
    webhooks = await api.call(
        "POST", "/guilds/{guild_id}/roles", path=g, json={"permissions": str(1 << 29)}
    )
    created = await api.call("POST", "/guilds/{guild_id}/roles", path=g, json={}, expect=200)
    everyone = sim.world.contents(guild)[0][guild.id]
    moved_up = await api.call(
        "PATCH",
        "/guilds/{guild_id}/roles",
        path=g,
        json=[{"id": created.body["id"], "position": _bot_top(sim, guild) + 1}],
    )
    assert (admin.status, admin.body) == (403, _MISSING_PERMISSIONS)
    assert (webhooks.status, webhooks.body) == (403, _MISSING_PERMISSIONS)  # the bot lacks it
    assert created.body["permissions"] == str(everyone.permissions)
    assert created.body["position"] == 1
    assert (moved_up.status, moved_up.body) == (403, _MISSING_PERMISSIONS)


async def test_hikari_raises_forbidden_with_50013_when_it_grants_the_bots_own_role(
    sim: Simulator, guild: Guild
) -> None:
    app = hikari.RESTApp(url=sim.rest_url)
    await app.start()
    try:
        async with app.acquire(DEFAULT_TOKEN, hikari.TokenType.BOT) as rest:
            roles = await rest.fetch_roles(guild.id)
            me = await rest.fetch_my_user()
            mine = await rest.fetch_member(guild.id, me.id)
            with pytest.raises(hikari.ForbiddenError) as excinfo:
                await rest.add_role_to_member(
                    guild.id, generated_member_id(guild, 3), sim.world.bot_role_id(guild)
                )
    finally:
        await app.close()
    assert excinfo.value.code == 50013
    bot_role = next(r for r in roles if r.id == sim.world.bot_role_id(guild))
    assert bot_role.is_managed
    assert bot_role.permissions & hikari.Permissions.MANAGE_ROLES
    assert bot_role.position == max(r.position for r in roles)
    everyone = next(r for r in roles if r.id == guild.id)
    assert not everyone.permissions & hikari.Permissions.MANAGE_ROLES
    assert not everyone.permissions & hikari.Permissions.MANAGE_WEBHOOKS
    assert set(mine.role_ids) == {bot_role.id, guild.id}  # hikari adds @everyone


async def test_role_read_answers_the_role_or_unknown_role_when_fetched_by_id(
    api: Api, sim: Simulator, guild: Guild
) -> None:
    template = "/guilds/{guild_id}/roles/{role_id}"
    bot_role = sim.world.bot_role_id(guild)
    found = await api.call(
        "GET", template, path={"guild_id": guild.id, "role_id": bot_role}, expect=200
    )
    missing = await api.call(
        "GET", template, path={"guild_id": guild.id, "role_id": 12345}, expect=404
    )
    assert found.body["id"] == str(bot_role)
    assert found.body["managed"] is True
    assert f"GET {template} 200" in api.checked
    assert missing.body == {"message": "Unknown Role", "code": 10011}
