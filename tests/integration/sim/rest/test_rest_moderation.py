"""Members, roles, bans, channels and commands: state changes and the events they announce."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from shoal_sim.discord import intents
from shoal_sim.discord.entities import Message, VoiceState
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.rest.api import Api
from tests.integration.sim.rest.gateway_listening import listening
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator

_MEMBER = "/guilds/{guild_id}/members/{user_id}"
_MEMBER_ROLE = _MEMBER + "/roles/{role_id}"
_BAN = "/guilds/{guild_id}/bans/{user_id}"
_MODERATION_INTENTS = intents.GUILDS | intents.GUILD_MEMBERS | intents.GUILD_MODERATION


def _iso_in(delta: dt.timedelta) -> str:
    return (dt.datetime.now(tz=dt.UTC) + delta).isoformat()


def _some_role(sim: Simulator, guild: Guild) -> int:
    return next(r for r in sim.world.contents(guild)[0] if r != guild.id)


async def test_member_edits_announce_member_updates_when_nick_timeout_and_roles_change(
    api: Api,
    sim: Simulator,
    guild: Guild,
    http: aiohttp.ClientSession,
) -> None:
    user_id = generated_member_id(guild, 4)
    member = {"guild_id": guild.id, "user_id": user_id}
    role = {"role_id": _some_role(sim, guild)}
    sim.world.contents(guild)[2][user_id].role_ids.clear()
    async with listening(http, sim, intents=_MODERATION_INTENTS) as gateway:
        await api.call(
            "PATCH",
            _MEMBER,
            path=member,
            expect=200,
            json={
                "nick": "Calm",
                "communication_disabled_until": _iso_in(dt.timedelta(hours=1)),
            },
        )
        edited = await gateway.next_event("GUILD_MEMBER_UPDATE")
        await api.call("PUT", _MEMBER_ROLE, path=member | role, expect=204)
        added = await gateway.next_event("GUILD_MEMBER_UPDATE")
        await api.call("DELETE", _MEMBER_ROLE, path=member | role, expect=204)
        removed = await gateway.next_event("GUILD_MEMBER_UPDATE")
    assert edited["guild_id"] == str(guild.id)
    assert edited["user"]["id"] == str(user_id)
    assert edited["nick"] == "Calm"
    assert edited["communication_disabled_until"] is not None
    assert added["roles"] == [str(role["role_id"])]
    assert removed["roles"] == []


async def test_member_edits_are_refused_when_discord_would_refuse_them(
    api: Api,
    guild: Guild,
) -> None:
    member = {"guild_id": guild.id, "user_id": generated_member_id(guild, 4)}
    owner = {"guild_id": guild.id, "user_id": guild.owner_id}
    too_long = await api.call(
        "PATCH",
        _MEMBER,
        path=member,
        expect=400,
        json={"communication_disabled_until": _iso_in(dt.timedelta(days=29))},
    )
    owner_timeout = await api.call(
        "PATCH",
        _MEMBER,
        path=owner,
        expect=403,
        json={"communication_disabled_until": _iso_in(dt.timedelta(hours=1))},
    )
    not_in_voice = await api.call("PATCH", _MEMBER, path=member, json={"mute": True}, expect=400)
    unknown_role = await api.call("PUT", _MEMBER_ROLE, path=member | {"role_id": 42}, expect=404)
    unknown_member = await api.call("GET", _MEMBER, path=member | {"user_id": 42}, expect=404)
    assert too_long.body["errors"]["communication_disabled_until"]["_errors"][0]["code"] == (
        "INVALID_COMMUNICATION_DISABLED_TIMESTAMP"
    )
    assert owner_timeout.body == {"message": "Missing Permissions", "code": 50013}
    assert not_in_voice.body == {"message": "Target user is not connected to voice.", "code": 40032}
    assert unknown_role.body == {"message": "Unknown Role", "code": 10011}
    assert unknown_member.body == {"message": "Unknown Member", "code": 10007}


async def test_voice_mute_applies_when_the_member_is_in_voice(
    api: Api,
    guild: Guild,
) -> None:
    user_id = generated_member_id(guild, 6)
    guild.voice_states[user_id] = VoiceState(
        user_id=user_id, session_id="s", channel_id=generated_channel_id(guild, 4)
    )
    muted = await api.call(
        "PATCH",
        _MEMBER,
        path={"guild_id": guild.id, "user_id": user_id},
        json={"mute": True, "deaf": True},
        expect=200,
    )
    assert muted.body["mute"] is muted.body["deaf"] is True


async def test_kick_and_ban_announce_removal_when_members_are_moderated(
    api: Api,
    sim: Simulator,
    guild: Guild,
    http: aiohttp.ClientSession,
) -> None:
    kicked = {"guild_id": guild.id, "user_id": generated_member_id(guild, 7)}
    banned = {"guild_id": guild.id, "user_id": generated_member_id(guild, 8)}
    async with listening(http, sim, intents=_MODERATION_INTENTS) as gateway:
        await api.call(
            "DELETE", _MEMBER, path=kicked, expect=204, headers={"X-Audit-Log-Reason": "rude"}
        )
        kick = await gateway.next_event("GUILD_MEMBER_REMOVE")
        await api.call(
            "PUT",
            _BAN,
            path=banned,
            json={},
            expect=204,
            headers={"X-Audit-Log-Reason": "very%20rude"},
        )
        ban = await gateway.next_event("GUILD_BAN_ADD")
        ban_removal = await gateway.next_event("GUILD_MEMBER_REMOVE")
        await api.call("DELETE", _BAN, path=banned, expect=204)
        unban = await gateway.next_event("GUILD_BAN_REMOVE")
    missing_ban = await api.call("GET", _BAN, path=banned, expect=404)
    gone = await api.call("GET", _MEMBER, path=kicked, expect=404)
    assert kick == {"guild_id": str(guild.id), "user": kick["user"]}
    assert kick["user"]["id"] == str(kicked["user_id"])
    assert ban["user"]["id"] == ban_removal["user"]["id"] == str(banned["user_id"])
    assert unban["user"]["id"] == str(banned["user_id"])
    assert missing_ban.body == {"message": "Unknown Ban", "code": 10026}
    assert gone.body["code"] == 10007
    assert sim.stats.dispatches_by_type["GUILD_MEMBER_REMOVE"] == 2


async def test_ban_keeps_the_audit_reason_when_given(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    banned = {"guild_id": guild.id, "user_id": generated_member_id(guild, 9)}
    await api.call(
        "PUT", _BAN, path=banned, expect=204, headers={"X-Audit-Log-Reason": "spam%20links"}
    )
    fetched = await api.call("GET", _BAN, path=banned, expect=200)
    owner = await api.call(
        "PUT", _BAN, path={"guild_id": guild.id, "user_id": guild.owner_id}, expect=403
    )
    assert fetched.body["reason"] == "spam links"
    assert owner.body["code"] == 50013
    assert banned["user_id"] not in sim.world.contents(guild)[2]


async def test_member_list_is_refused_when_the_members_intent_is_not_approved(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(SimSettings(guilds=2)) as sim:
        api = Api(http, sim, spec=load_spec())
        guild = next(iter(sim.world.guilds.values()))
        refused = await api.call(
            "GET", "/guilds/{guild_id}/members", path={"guild_id": guild.id}, expect=403
        )
    assert refused.body == {"message": "Missing Access", "code": 50001}


async def test_roles_and_channels_announce_changes_when_created_edited_deleted(
    api: Api,
    sim: Simulator,
    guild: Guild,
    http: aiohttp.ClientSession,
) -> None:
    g = {"guild_id": guild.id}
    async with listening(http, sim, intents=intents.GUILDS) as gateway:
        role = await api.call(
            "POST",
            "/guilds/{guild_id}/roles",
            path=g,
            json={"name": "Mods", "permissions": "1024"},  # a permission the bot holds
            expect=200,
        )
        created = await gateway.next_event("GUILD_ROLE_CREATE")
        one = g | {"role_id": role.body["id"]}
        await api.call(
            "PATCH",
            "/guilds/{guild_id}/roles/{role_id}",
            path=one,
            json={"mentionable": True},
            expect=200,
        )
        updated = await gateway.next_event("GUILD_ROLE_UPDATE")
        await api.call("DELETE", "/guilds/{guild_id}/roles/{role_id}", path=one, expect=204)
        deleted = await gateway.next_event("GUILD_ROLE_DELETE")
        channel = await api.call(
            "POST",
            "/guilds/{guild_id}/channels",
            path=g,
            json={"name": "news", "type": 0},
            expect=201,
        )
        channel_created = await gateway.next_event("CHANNEL_CREATE")
        thread = await api.call(
            "POST",
            "/channels/{channel_id}/threads",
            path={"channel_id": channel.body["id"]},
            json={"name": "weekly"},
            expect=201,
        )
        thread_created = await gateway.next_event("THREAD_CREATE")
    everyone = await api.call(
        "DELETE", "/guilds/{guild_id}/roles/{role_id}", path=g | {"role_id": guild.id}, expect=400
    )
    assert created["role"]["name"] == "Mods"
    assert created["role"]["permissions"] == "1024"
    assert updated["role"]["mentionable"] is True
    assert deleted == {"guild_id": str(guild.id), "role_id": role.body["id"]}
    assert channel_created["id"] == channel.body["id"]
    assert thread_created["id"] == thread.body["id"]
    assert thread_created["newly_created"] is True
    assert thread.body["type"] == 12
    assert everyone.body["code"] == 50028


async def test_commands_are_refused_when_discord_would_refuse_them(
    api: Api,
    sim: Simulator,
) -> None:
    path = {"application_id": next(iter(sim.world.applications))}
    commands = "/applications/{application_id}/commands"
    bad_name = await api.call(
        "POST", commands, path=path, expect=400, json={"name": "Ping", "description": "Ping"}
    )
    duplicate = await api.call(
        "PUT",
        commands,
        path=path,
        expect=400,
        json=[{"name": "ping", "description": "a"}, {"name": "ping", "description": "b"}],
    )
    first = await api.call(
        "POST", commands, path=path, expect=201, json={"name": "ping", "description": "a"}
    )
    upsert = await api.call(
        "POST", commands, path=path, expect=200, json={"name": "ping", "description": "b"}
    )
    unknown = await api.call(
        "GET", commands + "/{command_id}", path=path | {"command_id": 42}, expect=404
    )
    other_app = await api.call("GET", commands, path={"application_id": 42}, expect=403)
    assert bad_name.body["errors"] == {
        "name": {
            "_errors": [
                {"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "Command name is invalid"}
            ]
        }
    }
    assert duplicate.body["errors"]["1"]["name"]["_errors"][0]["code"] == (
        "APPLICATION_COMMANDS_DUPLICATE_NAME"
    )
    assert upsert.body["id"] == first.body["id"]
    assert upsert.body["description"] == "b"
    assert unknown.body == {"message": "Unknown application command", "code": 10063}
    assert other_app.body["code"] == 50001


async def test_ban_deletes_recent_messages_when_asked_to_purge(
    api: Api,
    sim: Simulator,
    guild: Guild,
    http: aiohttp.ClientSession,
) -> None:
    user_id = generated_member_id(guild, 10)
    channel_id = generated_channel_id(guild, 1)
    spam = [
        Message(
            id=sim.world.ids.next_id(),
            channel_id=channel_id,
            guild_id=guild.id,
            author_id=user_id,
            content=f"spam {i}",
        )
        for i in range(3)
    ]
    for message in spam:
        sim.world.add_message(message)
    async with listening(http, sim, intents=intents.GUILD_MESSAGES) as gateway:
        await api.call(
            "PUT",
            _BAN,
            path={"guild_id": guild.id, "user_id": user_id},
            json={"delete_message_seconds": 3600},
            expect=204,
        )
        purged = await gateway.next_event("MESSAGE_DELETE_BULK")
    assert purged == {
        "ids": [str(m.id) for m in spam],
        "channel_id": str(channel_id),
        "guild_id": str(guild.id),
    }
    assert all(sim.world.message(channel_id, m.id) is None for m in spam)
