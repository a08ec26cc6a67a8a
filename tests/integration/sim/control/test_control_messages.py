"""`/_sim/messages` and `/_sim/attachments`: users' messages in, the bot's messages out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import orjson
import pytest

from shoal_sim.discord import intents
from shoal_sim.discord.snowflakes import shard_for
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.control.shard_listening import listening_as_shard
from tests.integration.sim.rest.gateway_listening import listening

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi
    from tests.integration.sim.rest.api import Api

_MESSAGES = "/channels/{channel_id}/messages"
_READING = intents.GUILD_MESSAGES | intents.DIRECT_MESSAGES | intents.MESSAGE_CONTENT


async def test_message_reaches_the_session_when_injected_into_a_guild(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    async with listening(http, sim, intents=_READING) as listener:
        injected = await control.call(
            "POST", "/messages", json={"guild_id": str(guild.id), "content": "hello"}, expect=201
        )
        created = await listener.next_event("MESSAGE_CREATE")
    channel_id = str(generated_channel_id(guild, 1))
    assert injected["sessions_reached"] == 1
    assert injected["channel_id"] == channel_id
    assert created["id"] == injected["id"]
    assert created["guild_id"] == str(guild.id)
    assert created["channel_id"] == channel_id
    assert created["content"] == "hello"
    assert created["author"]["id"] == str(generated_member_id(guild, 0))
    assert "member" in created


async def test_message_goes_to_the_given_channel_and_author_when_they_are_named(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    channel_id, author_id = generated_channel_id(guild, 2), generated_member_id(guild, 7)
    body = {"guild_id": guild.id, "channel_id": channel_id, "user_id": author_id, "content": "x"}
    async with listening(http, sim, intents=_READING) as listener:
        await control.call("POST", "/messages", json=body, expect=201)
        created = await listener.next_event("MESSAGE_CREATE")
    assert created["channel_id"] == str(channel_id)
    assert created["author"]["id"] == str(author_id)


async def test_message_reaches_shard_zero_only_when_it_is_a_dm(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    on_shard_1 = next(g for g in sorted(sim.world.guilds) if shard_for(g, 2) == 1)
    async with (
        listening_as_shard(http, sim, shard=(0, 2), intents=_READING) as shard_0,
        listening_as_shard(http, sim, shard=(1, 2), intents=_READING) as shard_1,
    ):
        dm = await control.call(
            "POST", "/messages", json={"user_id": "4242", "content": "psst"}, expect=201
        )
        received = await shard_0.next_event("MESSAGE_CREATE")
        # Events on one connection keep their order: had shard 1 got the DM, it would
        # come before this guild message.
        await control.call("POST", "/messages", json={"guild_id": on_shard_1}, expect=201)
        first_on_shard_1 = await shard_1.next_event("MESSAGE_CREATE")
    assert dm["sessions_reached"] == 1
    assert received["id"] == dm["id"]
    assert received["content"] == "psst"
    assert received["author"]["id"] == "4242"
    assert "guild_id" not in received
    assert first_on_shard_1["guild_id"] == str(on_shard_1)


async def test_message_content_is_empty_when_the_session_lacks_message_content(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    async with listening(http, sim, intents=intents.GUILD_MESSAGES) as listener:
        await control.call(
            "POST", "/messages", json={"guild_id": guild.id, "content": "secret"}, expect=201
        )
        created = await listener.next_event("MESSAGE_CREATE")
    assert created["content"] == ""


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"content": "no place"}, 400, "user_id"),
        ({"guild_id": "<guild>", "content": 5}, 400, "content"),
        ({"guild_id": "<guild>", "channel_id": "123"}, 400, "unknown channel 123"),
        ({"guild_id": "<guild>", "user_id": "someone"}, 400, "user_id"),
        ({"guild_id": "123"}, 404, "unknown guild 123"),
        ({"guild_id": "lounge"}, 400, "guild_id"),
    ],
)
async def test_message_is_refused_when_the_body_is_bad(
    control: ControlApi,
    sim: Simulator,
    guild: Guild,
    body: dict[str, object],
    status: int,
    named: str,
) -> None:
    sent = {key: str(guild.id) if value == "<guild>" else value for key, value in body.items()}
    assert named in await control.error("POST", "/messages", json=sent, expect=status)
    assert sim.stats.messages_injected == 0


async def test_messages_lists_what_the_bot_sent_when_asked_for_the_bots(
    control: ControlApi, api: Api, guild: Guild
) -> None:
    channel_id = generated_channel_id(guild, 1)
    path = {"channel_id": channel_id}
    await control.call(
        "POST", "/messages", json={"guild_id": guild.id, "content": "hi bot"}, expect=201
    )
    await api.call("POST", _MESSAGES, path=path, json={"content": "first"}, expect=200)
    await api.call("POST", _MESSAGES, path=path, json={"content": "second"}, expect=200)
    elsewhere = {"channel_id": generated_channel_id(guild, 2)}
    await api.call("POST", _MESSAGES, path=elsewhere, json={"content": "third"}, expect=200)

    by_bot = await control.call("GET", "/messages", query={"author": "bot"}, expect=200)
    in_channel = await control.call(
        "GET", "/messages", query={"author": "bot", "channel_id": str(channel_id)}, expect=200
    )
    everyone = await control.call(
        "GET", "/messages", query={"channel_id": str(channel_id)}, expect=200
    )
    last = await control.call(
        "GET", "/messages", query={"channel_id": str(channel_id), "limit": "1"}, expect=200
    )
    assert [m["content"] for m in by_bot] == ["first", "second", "third"]
    assert all(m["author"]["bot"] is True for m in by_bot)
    assert [m["content"] for m in in_channel] == ["first", "second"]
    assert [m["content"] for m in everyone] == ["hi bot", "first", "second"]
    assert [m["content"] for m in last] == ["second"]


async def test_messages_is_empty_when_the_channel_has_none(control: ControlApi) -> None:
    assert await control.call("GET", "/messages", query={"channel_id": "123"}, expect=200) == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"channel_id": "general"}, "channel_id"),
        ({"limit": "all"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
    ],
)
async def test_messages_refuses_the_listing_when_the_query_is_bad(
    control: ControlApi, query: dict[str, str], named: str
) -> None:
    assert named in await control.error("GET", "/messages", query=query)


async def test_attachment_is_served_byte_identical_when_the_bot_sent_a_file(
    control: ControlApi, api: Api, http: aiohttp.ClientSession, guild: Guild
) -> None:
    channel_id = generated_channel_id(guild, 1)
    payload = bytes(range(256)) * 4
    form = aiohttp.FormData()
    form.add_field(
        "payload_json",
        orjson.dumps(
            {"content": "a file", "attachments": [{"id": 0, "filename": "data.bin"}]}
        ).decode(),
        content_type="application/json",
    )
    form.add_field("files[0]", payload, filename="data.bin", content_type="application/x-test")
    await api.call("POST", _MESSAGES, path={"channel_id": channel_id}, data=form, expect=200)
    (message,) = await control.call(
        "GET", "/messages", query={"author": "bot", "channel_id": str(channel_id)}, expect=200
    )
    (attachment,) = message["attachments"]
    async with http.get(attachment["url"]) as response:
        served = await response.read()
        assert response.status == 200
        assert response.content_type == "application/x-test"
    assert served == payload
    assert attachment["size"] == len(payload)
    missing = f"/attachments/{channel_id}/{int(attachment['id']) + 1}/data.bin"
    assert "unknown attachment" in await control.error("GET", missing, expect=404)
    assert "attachment_id" in await control.error("GET", f"/attachments/{channel_id}/x/a.bin")
