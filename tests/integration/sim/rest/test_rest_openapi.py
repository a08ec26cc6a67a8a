"""Every REST route the simulator serves answers with the shape Discord's OpenAPI spec gives.

One tour calls each route in an order that builds the state the next needs (a message
before its edit, an acknowledged interaction before its follow-up) and validates every
JSON reply against the spec's schema for that path, method and status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import aiohttp
import orjson

from shoal_sim.discord import intents
from shoal_sim.discord.entities import VoiceState
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.rest.api import Api, new_interaction
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator

# The global limit is raised: this test is about shapes, and the tour is faster than 50/s.
_SETTINGS: Final = SimSettings(
    guilds=20, global_rate_per_s=100_000, privileged_intents=intents.GUILD_MEMBERS
)
_COMMAND: Final = {
    "name": "greet",
    "description": "Say hello",
    "type": 1,
    "options": [
        {"type": 6, "name": "who", "description": "Whom to greet", "required": True},
        {
            "type": 3,
            "name": "how",
            "description": "Tone",
            "required": False,
            "choices": [{"name": "Warm", "value": "warm"}, {"name": "Curt", "value": "curt"}],
        },
    ],
    "default_member_permissions": "8",
    "contexts": [0],
    "integration_types": [0],
}
_SUBCOMMANDS: Final = {
    "name": "queue",
    "description": "Music queue",
    "options": [
        {"type": 1, "name": "show", "description": "Show the queue"},
        {
            "type": 2,
            "name": "edit",
            "description": "Edit the queue",
            "options": [
                {
                    "type": 1,
                    "name": "clear",
                    "description": "Clear it",
                    "options": [
                        {"type": 5, "name": "all", "description": "Everything", "required": False},
                    ],
                },
            ],
        },
    ],
}
_USER_COMMAND: Final = {"name": "Show Profile", "type": 2}
_BUTTON_ROW: Final = {
    "type": 1,
    "components": [
        {"type": 2, "style": 1, "custom_id": "ok", "label": "OK"},
    ],
}
_EMBED: Final = {
    "title": "Hello",
    "description": "World",
    "color": 0x5865F2,
    "fields": [{"name": "a", "value": "b", "inline": True}],
    "footer": {"text": "shoal"},
}

#: Every (method, template, status) the tour must have validated against the spec.
_EXPECTED: Final = frozenset(
    {
        "GET /gateway 200",
        "GET /gateway/bot 200",
        "GET /users/@me 200",
        "GET /oauth2/applications/@me 200",
        "GET /applications/@me 200",
        "GET /users/{user_id} 200",
        "POST /users/@me/channels 200",
        "PUT /applications/{application_id}/commands 200",
        "GET /applications/{application_id}/commands 200",
        "POST /applications/{application_id}/commands 201",
        "POST /applications/{application_id}/commands 200",
        "GET /applications/{application_id}/commands/{command_id} 200",
        "PATCH /applications/{application_id}/commands/{command_id} 200",
        "PUT /applications/{application_id}/guilds/{guild_id}/commands 200",
        "GET /applications/{application_id}/guilds/{guild_id}/commands 200",
        "POST /applications/{application_id}/guilds/{guild_id}/commands 201",
        "GET /applications/{application_id}/guilds/{guild_id}/commands/{command_id} 200",
        "PATCH /applications/{application_id}/guilds/{guild_id}/commands/{command_id} 200",
        "GET /channels/{channel_id} 200",
        "PATCH /channels/{channel_id} 200",
        "GET /guilds/{guild_id}/channels 200",
        "POST /guilds/{guild_id}/channels 201",
        "POST /channels/{channel_id}/messages 200",
        "GET /channels/{channel_id}/messages 200",
        "GET /channels/{channel_id}/messages/{message_id} 200",
        "PATCH /channels/{channel_id}/messages/{message_id} 200",
        "POST /channels/{channel_id}/threads 201",
        "POST /channels/{channel_id}/messages/{message_id}/threads 201",
        "POST /interactions/{interaction_id}/{interaction_token}/callback 200",
        "POST /webhooks/{webhook_id}/{webhook_token} 200",
        "GET /webhooks/{webhook_id}/{webhook_token}/messages/@original 200",
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original 200",
        "GET /webhooks/{webhook_id}/{webhook_token}/messages/{message_id} 200",
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id} 200",
        "GET /guilds/{guild_id} 200",
        "GET /guilds/{guild_id}/roles 200",
        "POST /guilds/{guild_id}/roles 200",
        "PATCH /guilds/{guild_id}/roles/{role_id} 200",
        "GET /guilds/{guild_id}/members/{user_id} 200",
        "GET /guilds/{guild_id}/members 200",
        "PATCH /guilds/{guild_id}/members/{user_id} 200",
        "PATCH /guilds/{guild_id}/members/@me 200",
        "GET /guilds/{guild_id}/bans 200",
        "GET /guilds/{guild_id}/bans/{user_id} 200",
        # Errors are checked against the spec's 4XX and 429 shapes too.
        "GET /guilds/{guild_id}/members/{user_id} 404",
    }
)


async def test_rest_responses_match_openapi_spec_when_every_route_is_called() -> None:
    spec = load_spec()
    async with running_simulator(_SETTINGS) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim, spec=spec)
        guild = next(sim.world.guilds_of(next(iter(sim.world.applications.values()))))
        await _tour_users(api, sim, guild)
        await _tour_commands(api, sim, guild)
        await _tour_channels(api, guild)
        await _tour_messages(api, guild)
        await _tour_interactions(api, sim, guild)
        await _tour_guild(api, guild)
        await _tour_members(api, sim, guild)
        await _tour_bans(api, guild)
    assert api.checked >= _EXPECTED, sorted(_EXPECTED - api.checked)


async def _tour_users(api: Api, sim: Simulator, guild: Guild) -> None:
    await api.call("GET", "/gateway", expect=200, is_authorised=False)
    bot = await api.call("GET", "/gateway/bot", expect=200)
    assert bot.body["shards"] == 1
    assert bot.body["url"] == sim.gateway.ws_url
    me = await api.call("GET", "/users/@me", expect=200)
    assert me.body["bot"] is True
    application = await api.call("GET", "/oauth2/applications/@me", expect=200)
    assert application.body["approximate_guild_count"] == 20
    mine = await api.call("GET", "/applications/@me", expect=200)
    assert mine.body["approximate_guild_count"] == 20
    user_id = generated_member_id(guild, 1)
    await api.call("GET", "/users/{user_id}", path={"user_id": user_id}, expect=200)
    dm = await api.call(
        "POST", "/users/@me/channels", json={"recipient_id": str(user_id)}, expect=200
    )
    assert dm.body["type"] == 1


async def _tour_commands(api: Api, sim: Simulator, guild: Guild) -> None:
    app_id = next(iter(sim.world.applications))
    for base, path in (
        ("/applications/{application_id}/commands", {"application_id": app_id}),
        (
            "/applications/{application_id}/guilds/{guild_id}/commands",
            {"application_id": app_id, "guild_id": guild.id},
        ),
    ):
        put = await api.call("PUT", base, path=path, json=[_COMMAND, _USER_COMMAND], expect=200)
        assert [c["name"] for c in put.body] == ["greet", "Show Profile"]
        await api.call("GET", base, path=path, expect=200)
        created = await api.call("POST", base, path=path, json=_SUBCOMMANDS, expect=201)
        one = path | {"command_id": created.body["id"]}
        await api.call("GET", base + "/{command_id}", path=one, expect=200)
        edited = await api.call(
            "PATCH", base + "/{command_id}", path=one, json={"description": "The queue"}, expect=200
        )
        assert edited.body["description"] == "The queue"
        assert edited.body["version"] != created.body["version"]
        await api.call("DELETE", base + "/{command_id}", path=one, expect=204)
    global_path = {"application_id": app_id}
    listed = await api.call("GET", "/applications/{application_id}/commands", path=global_path)
    greet_id = next(c["id"] for c in listed.body if c["name"] == "greet")
    again = await api.call(
        "POST",
        "/applications/{application_id}/commands",
        path=global_path,
        json=_COMMAND,
        expect=200,
    )
    assert again.body["id"] == greet_id


async def _tour_channels(api: Api, guild: Guild) -> None:
    channel = {"channel_id": generated_channel_id(guild, 1)}
    await api.call("GET", "/channels/{channel_id}", path=channel, expect=200)
    edited = await api.call(
        "PATCH", "/channels/{channel_id}", path=channel, json={"topic": "New topic"}, expect=200
    )
    assert edited.body["topic"] == "New topic"
    await api.call("GET", "/guilds/{guild_id}/channels", path={"guild_id": guild.id}, expect=200)
    created = await api.call(
        "POST",
        "/guilds/{guild_id}/channels",
        path={"guild_id": guild.id},
        json={"name": "Bot Logs", "type": 0},
        expect=201,
    )
    assert created.body["name"] == "bot-logs"


async def _tour_messages(api: Api, guild: Guild) -> None:
    channel = {"channel_id": generated_channel_id(guild, 2)}
    sent = await api.call(
        "POST",
        "/channels/{channel_id}/messages",
        path=channel,
        json={"content": "hello", "embeds": [_EMBED], "components": [_BUTTON_ROW]},
        expect=200,
    )
    form = aiohttp.FormData()
    form.add_field(
        "payload_json",
        orjson.dumps(
            {
                "content": "a file",
                "attachments": [{"id": 0, "filename": "notes.txt"}],
            }
        ).decode(),
        content_type="application/json",
    )
    form.add_field("files[0]", b"some notes", filename="notes.txt", content_type="text/plain")
    with_file = await api.call(
        "POST", "/channels/{channel_id}/messages", path=channel, data=form, expect=200
    )
    assert with_file.body["attachments"][0]["filename"] == "notes.txt"
    listed = await api.call(
        "GET", "/channels/{channel_id}/messages", path=channel, query={"limit": "10"}, expect=200
    )
    assert [m["id"] for m in listed.body] == [with_file.body["id"], sent.body["id"]]
    message = channel | {"message_id": sent.body["id"]}
    await api.call("GET", "/channels/{channel_id}/messages/{message_id}", path=message, expect=200)
    await api.call(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        path=message,
        json={"content": "edited"},
        expect=200,
    )
    await api.call(
        "POST",
        "/channels/{channel_id}/threads",
        path=channel,
        json={"name": "side talk", "type": 11, "auto_archive_duration": 1440},
        expect=201,
    )
    thread = await api.call(
        "POST",
        "/channels/{channel_id}/messages/{message_id}/threads",
        path=message,
        json={"name": "about hello"},
        expect=201,
    )
    assert thread.body["id"] == sent.body["id"]
    await api.call(
        "DELETE", "/channels/{channel_id}/messages/{message_id}", path=message, expect=204
    )


async def _tour_interactions(api: Api, sim: Simulator, guild: Guild) -> None:
    channel_id = generated_channel_id(guild, 1)
    user_id = generated_member_id(guild, 1)
    callback = "/interactions/{interaction_id}/{interaction_token}/callback"
    command = new_interaction(sim, guild_id=guild.id, channel_id=channel_id, user_id=user_id)
    answered = await api.call(
        "POST",
        callback,
        path=_ids(command),
        query={"with_response": "true"},
        json={"type": 4, "data": {"content": "pong"}},
        expect=200,
    )
    assert answered.body["resource"]["message"]["content"] == "pong"
    hook = {"webhook_id": command.application_id, "webhook_token": command.token}
    followup = await api.call(
        "POST",
        "/webhooks/{webhook_id}/{webhook_token}",
        path=hook,
        query={"wait": "true"},
        json={"content": "more"},
        expect=200,
    )
    original = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    await api.call("GET", original, path=hook, expect=200)
    await api.call("PATCH", original, path=hook, json={"content": "pong!"}, expect=200)
    message = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
    one = hook | {"message_id": followup.body["id"]}
    await api.call("GET", message, path=one, expect=200)
    await api.call("PATCH", message, path=one, json={"content": "even more"}, expect=200)
    await api.call("DELETE", message, path=one, expect=204)
    await api.call("DELETE", original, path=hook, expect=204)
    deferred = new_interaction(sim, guild_id=guild.id, channel_id=channel_id, user_id=user_id)
    thinking = await api.call(
        "POST",
        callback,
        path=_ids(deferred),
        query={"with_response": "true"},
        json={"type": 5},
        expect=200,
    )
    assert thinking.body["interaction"]["response_message_loading"] is True
    source = await api.call(
        "POST",
        "/channels/{channel_id}/messages",
        path={"channel_id": channel_id},
        json={"content": "pick", "components": [_BUTTON_ROW]},
        expect=200,
    )
    clicked = new_interaction(
        sim,
        guild_id=guild.id,
        channel_id=channel_id,
        user_id=user_id,
        interaction_type=3,
        data={"custom_id": "ok", "component_type": 2},
        source_message_id=int(source.body["id"]),
    )
    updated = await api.call(
        "POST",
        callback,
        path=_ids(clicked),
        query={"with_response": "true"},
        json={"type": 7, "data": {"content": "picked", "components": []}},
        expect=200,
    )
    assert updated.body["resource"]["type"] == 7
    silent = new_interaction(sim, guild_id=guild.id, channel_id=channel_id, user_id=user_id)
    await api.call(
        "POST",
        callback,
        path=_ids(silent),
        json={"type": 4, "data": {"content": "shh", "flags": 64}},
        expect=204,
    )


def _ids(interaction: Any) -> dict[str, object]:  # noqa: ANN401 - an Interaction record
    return {"interaction_id": interaction.id, "interaction_token": interaction.token}


async def _tour_guild(api: Api, guild: Guild) -> None:
    g = {"guild_id": guild.id}
    counted = await api.call(
        "GET", "/guilds/{guild_id}", path=g, query={"with_counts": "true"}, expect=200
    )
    assert counted.body["approximate_member_count"] == guild.member_count
    await api.call("GET", "/guilds/{guild_id}/roles", path=g, expect=200)
    role = await api.call(
        "POST",
        "/guilds/{guild_id}/roles",
        path=g,
        json={"name": "Helpers", "color": 0x00FF00, "hoist": True},
        expect=200,
    )
    one = g | {"role_id": role.body["id"]}
    await api.call(
        "PATCH",
        "/guilds/{guild_id}/roles/{role_id}",
        path=one,
        json={"name": "Helpful"},
        expect=200,
    )
    await api.call("DELETE", "/guilds/{guild_id}/roles/{role_id}", path=one, expect=204)


async def _tour_members(api: Api, sim: Simulator, guild: Guild) -> None:
    user_id = generated_member_id(guild, 2)
    member = {"guild_id": guild.id, "user_id": user_id}
    guild.voice_states[user_id] = VoiceState(
        user_id=user_id, channel_id=generated_channel_id(guild, 4), session_id="voice"
    )
    await api.call("GET", "/guilds/{guild_id}/members/{user_id}", path=member, expect=200)
    page = await api.call(
        "GET",
        "/guilds/{guild_id}/members",
        path={"guild_id": guild.id},
        query={"limit": "5"},
        expect=200,
    )
    assert len(page.body) == 5
    await api.call(
        "PATCH",
        "/guilds/{guild_id}/members/{user_id}",
        path=member,
        json={"nick": "Nick", "mute": True, "communication_disabled_until": None},
        expect=200,
    )
    await api.call(
        "PATCH",
        "/guilds/{guild_id}/members/@me",
        path={"guild_id": guild.id},
        json={"nick": "Shoal"},
        expect=200,
    )
    role = {"role_id": next(r for r in sim.world.contents(guild)[0] if r != guild.id)}
    await api.call(
        "PUT",
        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
        path=member | role,
        expect=204,
    )
    await api.call(
        "DELETE",
        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
        path=member | role,
        expect=204,
    )
    await api.call("DELETE", "/guilds/{guild_id}/members/{user_id}", path=member, expect=204)
    await api.call("GET", "/guilds/{guild_id}/members/{user_id}", path=member, expect=404)


async def _tour_bans(api: Api, guild: Guild) -> None:
    ban = {"guild_id": guild.id, "user_id": generated_member_id(guild, 3)}
    await api.call(
        "PUT",
        "/guilds/{guild_id}/bans/{user_id}",
        path=ban,
        json={"delete_message_seconds": 60},
        headers={"X-Audit-Log-Reason": "spam"},
        expect=204,
    )
    bans = await api.call("GET", "/guilds/{guild_id}/bans", path={"guild_id": guild.id}, expect=200)
    assert [b["reason"] for b in bans.body] == ["spam"]
    await api.call("GET", "/guilds/{guild_id}/bans/{user_id}", path=ban, expect=200)
    await api.call("DELETE", "/guilds/{guild_id}/bans/{user_id}", path=ban, expect=204)
