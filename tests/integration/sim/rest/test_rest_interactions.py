"""Interaction responses and webhooks: the deadline, exactly-once, follow-ups and edits."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from shoal_sim.discord import intents
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.rest.api import Api, new_interaction
from tests.integration.sim.rest.gateway_listening import listening
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Guild, Interaction
    from shoal_sim.discord.server import Simulator

_CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
_WEBHOOK = "/webhooks/{webhook_id}/{webhook_token}"
_ORIGINAL = _WEBHOOK + "/messages/@original"
#: Short deadlines so that "late" costs a few hundred milliseconds.
_SHORT_DEADLINE_S = 0.2
_PAST_DEADLINE_S = 0.3


def _ids(interaction: Interaction) -> dict[str, object]:
    return {"interaction_id": interaction.id, "interaction_token": interaction.token}


def _hook(interaction: Interaction) -> dict[str, object]:
    return {"webhook_id": interaction.application_id, "webhook_token": interaction.token}


def _command(sim: Simulator, guild: Guild, **kwargs: Any) -> Interaction:  # noqa: ANN401
    return new_interaction(
        sim,
        guild_id=guild.id,
        channel_id=generated_channel_id(guild, 1),
        user_id=generated_member_id(guild, 1),
        **kwargs,
    )


async def test_callback_answers_once_when_responses_race(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    interaction = _command(sim, guild)
    replies = await asyncio.gather(
        *(api.call("POST", _CALLBACK, path=_ids(interaction), json={"type": 5}) for _ in range(5))
    )
    statuses = sorted(r.status for r in replies)
    refusals = [r.body for r in replies if r.status == 400]
    assert statuses == [204, 400, 400, 400, 400]
    assert (
        refusals == [{"message": "Interaction has already been acknowledged.", "code": 40060}] * 4
    )
    assert sim.stats.interactions_answered == 1
    assert sim.stats.interactions_double_acknowledged == 4
    assert len(sim.stats.interaction_latencies_ms) == 1
    assert interaction.acknowledge_attempts == 5
    assert interaction.response_type == 5


async def test_callback_refuses_with_10062_when_past_the_deadline(
    http: aiohttp.ClientSession,
) -> None:
    settings = SimSettings(guilds=2, interaction_deadline_s=_SHORT_DEADLINE_S)
    async with running_simulator(settings) as sim:
        api = Api(http, sim, spec=load_spec())
        guild = next(iter(sim.world.guilds.values()))
        interaction = _command(sim, guild)
        await asyncio.sleep(_PAST_DEADLINE_S)
        late = await api.call(
            "POST",
            _CALLBACK,
            path=_ids(interaction),
            json={"type": 4, "data": {"content": "too late"}},
            expect=404,
        )
        followup = await api.call(
            "POST", _WEBHOOK, path=_hook(interaction), json={"content": "x"}, expect=404
        )
    assert late.body == {"message": "Unknown interaction", "code": 10062}
    assert followup.body == {"message": "Unknown Webhook", "code": 10015}
    assert interaction.is_late
    assert interaction.responded_at is None
    assert sim.stats.interactions_late == 1
    assert sim.stats.interactions_answered == 0


async def test_callback_refuses_with_10062_when_the_token_is_wrong(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    interaction = _command(sim, guild)
    wrong = await api.call(
        "POST",
        _CALLBACK,
        json={"type": 5},
        expect=404,
        path={"interaction_id": interaction.id, "interaction_token": "nope"},
    )
    assert wrong.body["code"] == 10062
    assert interaction.responded_at is None


async def test_callback_acknowledges_nothing_when_the_body_is_refused(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    interaction = _command(sim, guild)
    empty = await api.call(
        "POST",
        _CALLBACK,
        path=_ids(interaction),
        json={"type": 4, "data": {"content": ""}},
        expect=400,
    )
    wrong_type = await api.call(
        "POST",
        _CALLBACK,
        path=_ids(interaction),
        json={"type": 8, "data": {"choices": []}},
        expect=400,
    )
    await api.call(
        "POST",
        _CALLBACK,
        path=_ids(interaction),
        json={"type": 4, "data": {"content": "fine"}},
        expect=204,
    )
    assert empty.body == {"message": "Cannot send an empty message", "code": 50006}
    assert wrong_type.body["code"] == 50035
    assert "type" in wrong_type.body["errors"]
    assert sim.stats.interactions_answered == 1


async def test_webhook_follows_up_and_edits_original_when_the_token_is_valid(
    api: Api,
    sim: Simulator,
    guild: Guild,
    http: aiohttp.ClientSession,
) -> None:
    interaction = _command(sim, guild)
    early = await api.call(
        "POST", _WEBHOOK, path=_hook(interaction), json={"content": "x"}, expect=404
    )
    async with listening(http, sim, intents=intents.GUILD_MESSAGES) as gateway:
        answer = await api.call(
            "POST",
            _CALLBACK,
            path=_ids(interaction),
            query={"with_response": "true"},
            json={"type": 4, "data": {"content": "pong"}},
            expect=200,
        )
        created = await gateway.next_event("MESSAGE_CREATE")
        followup = await api.call(
            "POST",
            _WEBHOOK,
            path=_hook(interaction),
            query={"wait": "true"},
            json={"content": "more"},
            expect=200,
        )
        await gateway.next_event("MESSAGE_CREATE")
        edited = await api.call(
            "PATCH", _ORIGINAL, path=_hook(interaction), json={"content": "pong!"}, expect=200
        )
        updated = await gateway.next_event("MESSAGE_UPDATE")
    message_id = answer.body["interaction"]["response_message_id"]
    assert early.body == {"message": "Unknown Webhook", "code": 10015}
    assert answer.body["interaction"] == {
        "id": str(interaction.id),
        "type": 2,
        "response_message_id": message_id,
        "response_message_loading": False,
        "response_message_ephemeral": False,
    }
    assert answer.body["resource"]["message"]["webhook_id"] == str(interaction.application_id)
    assert answer.body["resource"]["message"]["type"] == 20
    assert created["id"] == message_id
    assert created["content"] == "pong"
    assert edited.body["id"] == updated["id"] == message_id
    assert updated["content"] == "pong!"
    assert edited.body["edited_timestamp"] is not None
    assert interaction.original_message_id == int(message_id)
    assert interaction.followup_message_ids == [int(followup.body["id"])]


async def test_webhook_refuses_with_10015_when_the_token_expired(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(SimSettings(guilds=2, interaction_token_ttl_s=0.2)) as sim:
        api = Api(http, sim, spec=load_spec())
        interaction = _command(sim, next(iter(sim.world.guilds.values())))
        await api.call("POST", _CALLBACK, path=_ids(interaction), json={"type": 5}, expect=204)
        await api.call("GET", _ORIGINAL, path=_hook(interaction), expect=200)
        await asyncio.sleep(_PAST_DEADLINE_S)
        expired = await api.call(
            "PATCH", _ORIGINAL, path=_hook(interaction), json={"content": "late"}, expect=404
        )
    assert expired.body == {"message": "Unknown Webhook", "code": 10015}


async def test_deferred_response_loads_until_edited_when_deferred(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    interaction = _command(sim, guild)
    thinking = await api.call(
        "POST",
        _CALLBACK,
        path=_ids(interaction),
        query={"with_response": "true"},
        json={"type": 5},
        expect=200,
    )
    loading = await api.call("GET", _ORIGINAL, path=_hook(interaction), expect=200)
    done = await api.call(
        "PATCH", _ORIGINAL, path=_hook(interaction), json={"content": "done"}, expect=200
    )
    assert thinking.body["interaction"]["response_message_loading"] is True
    assert "resource" not in thinking.body
    assert loading.body["flags"] & 128
    assert not done.body["flags"] & 128
    assert done.body["content"] == "done"


async def test_ephemeral_response_reaches_no_session_when_flagged(
    api: Api,
    sim: Simulator,
    guild: Guild,
    http: aiohttp.ClientSession,
) -> None:
    interaction = _command(sim, guild)
    async with listening(http, sim, intents=intents.GUILD_MESSAGES) as gateway:
        answer = await api.call(
            "POST",
            _CALLBACK,
            path=_ids(interaction),
            query={"with_response": "true"},
            json={"type": 4, "data": {"content": "secret", "flags": 64}},
            expect=200,
        )
        visible = await api.call(
            "POST",
            "/channels/{channel_id}/messages",
            path={"channel_id": interaction.channel_id},
            json={"content": "public"},
            expect=200,
        )
        created = await gateway.next_event("MESSAGE_CREATE")
    assert answer.body["interaction"]["response_message_ephemeral"] is True
    assert created["id"] == visible.body["id"]
    listed = await api.call(
        "GET",
        "/channels/{channel_id}/messages",
        path={"channel_id": interaction.channel_id},
        expect=200,
    )
    assert [m["content"] for m in listed.body] == ["public"]


async def test_update_message_edits_the_source_when_a_component_is_used(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    channel = {"channel_id": generated_channel_id(guild, 1)}
    source = await api.call(
        "POST",
        "/channels/{channel_id}/messages",
        path=channel,
        json={
            "content": "pick",
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 2, "style": 1, "custom_id": "go", "label": "Go"}],
                }
            ],
        },
        expect=200,
    )
    clicked = _command(
        sim,
        guild,
        interaction_type=3,
        source_message_id=int(source.body["id"]),
        data={"custom_id": "go", "component_type": 2},
    )
    reply = await api.call(
        "POST",
        _CALLBACK,
        path=_ids(clicked),
        query={"with_response": "true"},
        json={"type": 7, "data": {"content": "picked", "components": []}},
        expect=200,
    )
    original = await api.call("GET", _ORIGINAL, path=_hook(clicked), expect=200)
    assert reply.body["resource"]["message"]["id"] == source.body["id"]
    assert original.body["content"] == "picked"
    assert original.body["components"] == []


async def test_callback_keeps_files_when_sent_as_multipart(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    interaction = _command(sim, guild)
    form = aiohttp.FormData()
    form.add_field(
        "payload_json",
        orjson.dumps(
            {
                "type": 4,
                "data": {"content": "report", "attachments": [{"id": 0, "filename": "report.csv"}]},
            }
        ).decode(),
        content_type="application/json",
    )
    form.add_field("files[0]", b"a,b\n1,2\n", filename="report.csv", content_type="text/csv")
    reply = await api.call(
        "POST",
        _CALLBACK,
        path=_ids(interaction),
        query={"with_response": "true"},
        data=form,
        expect=200,
    )
    message = sim.world.message(
        interaction.channel_id, int(reply.body["interaction"]["response_message_id"])
    )
    assert message is not None
    assert [(a.filename, a.content_type, a.data) for a in message.attachments] == [
        ("report.csv", "text/csv", b"a,b\n1,2\n")
    ]
