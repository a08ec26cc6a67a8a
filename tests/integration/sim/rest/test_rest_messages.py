"""Channel messages, request bodies and Discord's error shapes for bad requests."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import aiohttp
import orjson

from shoal_sim.discord import intents
from shoal_sim.discord.entities import Message
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from shoal_sim.discord.snowflakes import make_token
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.rest.api import Api
from tests.integration.sim.rest.gateway_listening import listening
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator

_MESSAGES = "/channels/{channel_id}/messages"
_MESSAGE = _MESSAGES + "/{message_id}"


async def test_message_keeps_files_when_posted_as_multipart(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    channel_id = generated_channel_id(guild, 1)
    form = aiohttp.FormData()
    form.add_field(
        "payload_json",
        orjson.dumps(
            {
                "content": "two files",
                "attachments": [{"id": 0, "filename": "a.txt"}, {"id": 1, "filename": "b.bin"}],
            }
        ).decode(),
        content_type="application/json",
    )
    form.add_field("files[0]", b"alpha", filename="a.txt", content_type="text/plain")
    form.add_field(
        "files[1]", bytes(range(256)), filename="b.bin", content_type="application/octet-stream"
    )
    reply = await api.call(
        "POST", _MESSAGES, path={"channel_id": channel_id}, data=form, expect=200
    )
    kept = sim.world.message(channel_id, int(reply.body["id"]))
    assert kept is not None
    assert [(a.filename, a.data) for a in kept.attachments] == [
        ("a.txt", b"alpha"),
        ("b.bin", bytes(range(256))),
    ]
    assert [a["size"] for a in reply.body["attachments"]] == [5, 256]


async def test_message_edit_keeps_only_listed_attachments_when_attachments_are_given(
    api: Api,
    guild: Guild,
) -> None:
    channel = {"channel_id": generated_channel_id(guild, 1)}
    form = aiohttp.FormData()
    form.add_field(
        "payload_json", orjson.dumps({"content": "x"}).decode(), content_type="application/json"
    )
    form.add_field("files[0]", b"one", filename="one.txt")
    form.add_field("files[1]", b"two", filename="two.txt")
    sent = await api.call("POST", _MESSAGES, path=channel, data=form, expect=200)
    kept_id = sent.body["attachments"][1]["id"]
    edited = await api.call(
        "PATCH",
        _MESSAGE,
        path=channel | {"message_id": sent.body["id"]},
        json={"attachments": [{"id": kept_id}]},
        expect=200,
    )
    assert [a["filename"] for a in edited.body["attachments"]] == ["two.txt"]


async def test_message_is_refused_when_empty_or_too_long(api: Api, guild: Guild) -> None:
    channel = {"channel_id": generated_channel_id(guild, 1)}
    empty = await api.call("POST", _MESSAGES, path=channel, json={"content": ""}, expect=400)
    long = await api.call("POST", _MESSAGES, path=channel, json={"content": "x" * 2001}, expect=400)
    embeds = await api.call(
        "POST", _MESSAGES, path=channel, json={"embeds": [{"title": "t"}] * 11}, expect=400
    )
    assert empty.body == {"message": "Cannot send an empty message", "code": 50006}
    assert long.body == {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {
            "content": {
                "_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
                ]
            }
        },
    }
    assert "embeds" in embeds.body["errors"]


async def test_rest_answers_discords_errors_when_the_request_is_malformed(
    api: Api,
    http: aiohttp.ClientSession,
    sim: Simulator,
    guild: Guild,
) -> None:
    channel = {"channel_id": generated_channel_id(guild, 1)}
    unknown = await api.call("GET", "/no/such/route", expect=404)
    method = await api.call("DELETE", "/users/@me", expect=405)
    snowflake = await api.call(
        "GET", "/channels/{channel_id}", path={"channel_id": "abc"}, expect=400
    )
    array = await api.call("POST", _MESSAGES, path=channel, json=["content"], expect=400)
    async with http.post(
        f"{sim.rest_url}/channels/{channel['channel_id']}/messages",
        data=b"{not json",
        headers={"Authorization": f"Bot {DEFAULT_TOKEN}", "Content-Type": "application/json"},
    ) as r:
        broken = await r.json()
        assert r.status == 400
    assert unknown.body == {"message": "404: Not Found", "code": 0}
    assert method.body == {"message": "405: Method Not Allowed", "code": 0}
    assert snowflake.body["code"] == 50035
    assert snowflake.body["errors"]["channel_id"]["_errors"][0]["code"] == "NUMBER_TYPE_COERCE"
    assert array.body["errors"] == {
        "_errors": [
            {"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used in a DictType"}
        ]
    }
    assert broken == {"message": "The request body contains invalid JSON.", "code": 50109}
    assert sim.stats.rest_requests["GET <unrouted>"] == 1


async def test_rest_refuses_other_bots_guilds_when_asked_for_them(
    http: aiohttp.ClientSession,
) -> None:
    other_token = make_token(1_000_000_000_000_000_002, "other-bot")
    async with running_simulator(SimSettings(guilds=2, tokens=(DEFAULT_TOKEN, other_token))) as sim:
        api = Api(http, sim, spec=load_spec())
        other_app = sim.world.application_for_token(other_token)
        assert other_app is not None
        theirs = sim.world.add_guild(other_app)
        channel = {"channel_id": generated_channel_id(theirs, 1)}
        guild = await api.call(
            "GET", "/guilds/{guild_id}", path={"guild_id": theirs.id}, expect=403
        )
        message = await api.call(
            "POST", _MESSAGES, path=channel, json={"content": "hi"}, expect=403
        )
        missing = await api.call("GET", "/guilds/{guild_id}", path={"guild_id": 42}, expect=404)
        no_channel = await api.call(
            "GET", "/channels/{channel_id}", path={"channel_id": 42}, expect=404
        )
    assert guild.body == message.body == {"message": "Missing Access", "code": 50001}
    assert missing.body == {"message": "Unknown Guild", "code": 10004}
    assert no_channel.body == {"message": "Unknown Channel", "code": 10003}
    assert sim.stats.invalid_requests == 2


async def test_message_events_keep_the_bots_content_when_the_session_lacks_message_content(
    api: Api,
    sim: Simulator,
    guild: Guild,
    http: aiohttp.ClientSession,
) -> None:
    channel = {"channel_id": generated_channel_id(guild, 1)}
    async with listening(http, sim, intents=intents.GUILD_MESSAGES) as gateway:
        sent = await api.call("POST", _MESSAGES, path=channel, json={"content": "mine"}, expect=200)
        created = await gateway.next_event("MESSAGE_CREATE")
        message = channel | {"message_id": sent.body["id"]}
        await api.call("PATCH", _MESSAGE, path=message, json={"content": "still mine"}, expect=200)
        updated = await gateway.next_event("MESSAGE_UPDATE")
        await api.call("DELETE", _MESSAGE, path=message, expect=204)
        deleted = await gateway.next_event("MESSAGE_DELETE")
    assert created["content"] == "mine"
    assert created["guild_id"] == str(guild.id)
    assert "member" in created
    assert updated["content"] == "still mine"
    assert deleted == {
        "id": sent.body["id"],
        "channel_id": str(channel["channel_id"]),
        "guild_id": str(guild.id),
    }


async def test_message_edit_is_refused_when_another_user_wrote_it(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    channel_id = generated_channel_id(guild, 1)
    theirs = Message(
        id=sim.world.ids.next_id(),
        channel_id=channel_id,
        guild_id=guild.id,
        author_id=generated_member_id(guild, 1),
        content="hello",
    )
    sim.world.add_message(theirs)
    refused = await api.call(
        "PATCH",
        _MESSAGE,
        json={"content": "mine now"},
        expect=403,
        path={"channel_id": channel_id, "message_id": theirs.id},
    )
    await api.call(
        "DELETE", _MESSAGE, path={"channel_id": channel_id, "message_id": theirs.id}, expect=204
    )
    gone = await api.call(
        "GET", _MESSAGE, path={"channel_id": channel_id, "message_id": theirs.id}, expect=404
    )
    assert refused.body == {
        "message": "Cannot edit a message authored by another user",
        "code": 50005,
    }
    assert gone.body == {"message": "Unknown Message", "code": 10008}


async def test_dm_messages_reach_shard_zero_when_posted_in_a_dm(
    api: Api,
    sim: Simulator,
    guild: Guild,
    http: aiohttp.ClientSession,
) -> None:
    user_id = generated_member_id(guild, 1)
    dm = await api.call("POST", "/users/@me/channels", json={"recipient_id": user_id}, expect=200)
    async with listening(http, sim, intents=intents.DIRECT_MESSAGES) as gateway:
        await api.call(
            "POST",
            _MESSAGES,
            path={"channel_id": dm.body["id"]},
            json={"content": "psst"},
            expect=200,
        )
        created = await gateway.next_event("MESSAGE_CREATE")
    assert created["channel_id"] == dm.body["id"]
    assert "guild_id" not in created
    assert dm.body["recipients"][0]["id"] == str(user_id)


async def test_message_list_pages_when_before_and_after_are_given(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    channel_id = generated_channel_id(guild, 3)
    ids = []
    for index in range(7):
        message = Message(
            id=sim.world.ids.next_id(),
            channel_id=channel_id,
            guild_id=guild.id,
            author_id=generated_member_id(guild, 1),
            content=str(index),
        )
        sim.world.add_message(message)
        ids.append(str(message.id))
    path = {"channel_id": channel_id}
    newest = await api.call("GET", _MESSAGES, path=path, query={"limit": "3"}, expect=200)
    before = await api.call(
        "GET", _MESSAGES, path=path, query={"limit": "2", "before": ids[3]}, expect=200
    )
    after = await api.call(
        "GET", _MESSAGES, path=path, query={"limit": "2", "after": ids[3]}, expect=200
    )
    too_many = await api.call("GET", _MESSAGES, path=path, query={"limit": "101"}, expect=400)
    assert [m["id"] for m in newest.body] == ids[:3:-1]
    assert [m["id"] for m in before.body] == [ids[2], ids[1]]
    assert [m["id"] for m in after.body] == [ids[5], ids[4]]
    assert "limit" in too_many.body["errors"]


async def test_message_is_refused_with_413_when_a_file_exceeds_10_mib(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    channel_id = generated_channel_id(guild, 1)
    form = aiohttp.FormData()
    form.add_field(
        "payload_json", orjson.dumps({"content": "big"}).decode(), content_type="application/json"
    )
    big = io.BytesIO(b"\0" * (10 * 1024 * 1024 + 1))  # aiohttp wants large bodies as streams
    form.add_field("files[0]", big, filename="big.bin")
    refused = await api.call(
        "POST", _MESSAGES, path={"channel_id": channel_id}, data=form, expect=413
    )
    assert refused.body == {"message": "Request entity too large", "code": 40005}
    assert channel_id not in sim.world.messages
