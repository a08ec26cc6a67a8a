"""Real hikari REST calls against the simulator: hikari must parse every response.

hikari's entity factory reads fields the OpenAPI spec calls optional, so a spec-valid
shape is not enough: these tests go through ``hikari.RESTApp`` as a bot would.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import hikari
import pytest

from shoal_sim.discord.settings import DEFAULT_TOKEN
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.rest.api import new_interaction

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from hikari.api import RESTClient

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator


@pytest.fixture
async def rest(sim: Simulator) -> AsyncIterator[RESTClient]:
    app = hikari.RESTApp(url=sim.rest_url)
    await app.start()
    try:
        async with app.acquire(DEFAULT_TOKEN, hikari.TokenType.BOT) as client:
            yield client
    finally:
        await app.close()


@pytest.fixture(autouse=True)
def _hikari_stays_quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on any hikari warning: unexpected headers, retries and 429s all log one."""
    caplog.set_level(logging.WARNING, logger="hikari")
    yield
    noisy = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("hikari") and r.levelno >= logging.WARNING
    ]
    assert not noisy, noisy


def _guild(sim: Simulator) -> Guild:
    return next(sim.world.guilds_of(next(iter(sim.world.applications.values()))))


async def test_hikari_reads_bot_and_application_when_fetching_them(
    sim: Simulator,
    rest: RESTClient,
) -> None:
    me = await rest.fetch_my_user()
    application = await rest.fetch_application()
    info = await rest.fetch_gateway_bot_info()
    assert me.id == application.id == next(iter(sim.world.applications))
    assert me.is_bot
    assert application.approximate_guild_count == 20
    assert info.url == sim.gateway.ws_url
    assert info.shard_count == 1
    assert info.session_start_limit.remaining == 1000


async def test_hikari_sends_and_reads_messages_when_posting_with_an_attachment(
    sim: Simulator,
    rest: RESTClient,
) -> None:
    channel_id = generated_channel_id(_guild(sim), 1)
    channel = await rest.fetch_channel(channel_id)
    message = await rest.create_message(
        channel_id,
        "with a file",
        attachment=hikari.Bytes(b"log line\n", "log.txt"),
        embed=hikari.Embed(title="Report", description="All good"),
    )
    edited = await rest.edit_message(channel_id, message, "edited")
    fetched = await rest.fetch_message(channel_id, message)
    listed = [m.id async for m in rest.fetch_messages(channel_id)]
    thread = await rest.create_message_thread(channel_id, message, "follow-up talk")
    assert channel.name == "general"
    assert message.attachments[0].filename == "log.txt"
    assert message.embeds[0].title == "Report"
    assert edited.content == fetched.content == "edited"
    assert listed == [message.id]
    assert thread.id == message.id
    kept = sim.world.message(channel_id, message.id)
    assert kept is not None
    assert kept.attachments[0].data == b"log line\n"
    await rest.delete_message(channel_id, message)
    assert sim.world.message(channel_id, message.id) is None


async def test_hikari_moderates_members_when_editing_roles_timeouts_and_bans(
    sim: Simulator,
    rest: RESTClient,
) -> None:
    guild = _guild(sim)
    user_id = generated_member_id(guild, 5)
    roles = await rest.fetch_roles(guild.id)
    role = next(r for r in roles if r.id != guild.id)
    until = dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=1)
    fetched_guild = await rest.fetch_guild(guild.id)
    member = await rest.fetch_member(guild.id, user_id)
    edited = await rest.edit_member(
        guild.id, user_id, nickname="quiet", communication_disabled_until=until, reason="spam"
    )
    await rest.add_role_to_member(guild.id, user_id, role)
    with_role = await rest.fetch_member(guild.id, user_id)
    await rest.remove_role_from_member(guild.id, user_id, role)
    everyone = [m.id async for m in rest.fetch_members(guild.id)]
    await rest.ban_user(guild.id, user_id, reason="repeat offender")
    ban = await rest.fetch_ban(guild.id, user_id)
    bans = [b.user.id async for b in rest.fetch_bans(guild.id)]
    await rest.unban_user(guild.id, user_id)
    assert fetched_guild.name == guild.name
    assert member.user.id == user_id
    assert edited.nickname == "quiet"
    assert edited.communication_disabled_until() is not None
    assert role.id in with_role.role_ids
    assert user_id in everyone
    assert ban.reason == "repeat offender"
    assert bans == [user_id]
    with pytest.raises(hikari.NotFoundError):
        await rest.fetch_member(guild.id, user_id)


async def test_hikari_manages_guild_roles_and_channels_when_creating_them(
    sim: Simulator,
    rest: RESTClient,
) -> None:
    guild = _guild(sim)
    role = await rest.create_role(guild.id, name="Helpers", color=0x00FF00, hoist=True)
    renamed = await rest.edit_role(guild.id, role, name="Helpful")
    await rest.delete_role(guild.id, role)
    channel = await rest.create_guild_text_channel(guild.id, "Bot Logs", topic="logs")
    channels = await rest.fetch_guild_channels(guild.id)
    me = await rest.edit_my_member(guild.id, nickname="Shoal")
    assert renamed.name == "Helpful"
    assert channel.name == "bot-logs"
    assert channel.id in {c.id for c in channels}
    assert me.nickname == "Shoal"


async def test_hikari_syncs_commands_when_setting_them(
    sim: Simulator,
    rest: RESTClient,
) -> None:
    guild = _guild(sim)
    application = next(iter(sim.world.applications))
    ping = rest.slash_command_builder("ping", "Check the bot is alive").add_option(
        hikari.CommandOption(type=hikari.OptionType.STRING, name="text", description="Echo")
    )
    profile = rest.context_menu_command_builder(hikari.CommandType.USER, "Show Profile")
    synced = await rest.set_application_commands(application, [ping, profile], guild.id)
    again = await rest.set_application_commands(application, [ping, profile], guild.id)
    listed = await rest.fetch_application_commands(application, guild.id)
    assert [c.name for c in synced] == ["ping", "Show Profile"]
    assert [c.id for c in again] == [c.id for c in synced]
    assert {c.id for c in listed} == {c.id for c in synced}


async def test_hikari_answers_interactions_when_responding_and_following_up(
    sim: Simulator,
    rest: RESTClient,
) -> None:
    guild = _guild(sim)
    interaction = new_interaction(
        sim,
        guild_id=guild.id,
        channel_id=generated_channel_id(guild, 1),
        user_id=generated_member_id(guild, 1),
    )
    answer = await rest.create_interaction_response(
        interaction.id, interaction.token, hikari.ResponseType.MESSAGE_CREATE, "pong"
    )
    followup = await rest.execute_webhook(
        interaction.application_id,
        interaction.token,
        "and more",
        attachment=hikari.Bytes(b"x", "x.txt"),
    )
    edited = await rest.edit_interaction_response(
        interaction.application_id, interaction.token, "pong!"
    )
    original = await rest.fetch_interaction_response(interaction.application_id, interaction.token)
    assert answer.interaction.id == interaction.id
    assert answer.resource is not hikari.UNDEFINED
    assert answer.resource.message is not hikari.UNDEFINED
    assert answer.resource.message.content == "pong"
    assert followup.attachments[0].filename == "x.txt"
    assert edited.content == original.content == "pong!"
    assert interaction.response_type == hikari.ResponseType.MESSAGE_CREATE
    assert sim.stats.interactions_answered == 1


async def test_hikari_defers_and_opens_modals_when_responding(
    sim: Simulator,
    rest: RESTClient,
) -> None:
    guild = _guild(sim)
    channel_id = generated_channel_id(guild, 1)
    user_id = generated_member_id(guild, 1)
    deferred, modal, autocomplete = (
        new_interaction(
            sim, guild_id=guild.id, channel_id=channel_id, user_id=user_id, interaction_type=kind
        )
        for kind in (2, 2, 4)
    )
    thinking = await rest.create_interaction_response(
        deferred.id,
        deferred.token,
        hikari.ResponseType.DEFERRED_MESSAGE_CREATE,
        flags=hikari.MessageFlag.EPHEMERAL,
    )
    done = await rest.edit_interaction_response(deferred.application_id, deferred.token, "done")
    await rest.create_modal_response(
        modal.id,
        modal.token,
        title="Report",
        custom_id="report",
        component=rest.build_modal_action_row().add_text_input("reason", "Reason"),
    )
    await rest.create_autocomplete_response(
        autocomplete.id, autocomplete.token, [hikari.impl.AutocompleteChoiceBuilder("a", "a")]
    )
    assert thinking.interaction.response_message_loading
    assert thinking.interaction.response_message_ephemeral
    assert done.content == "done"
    assert not done.flags & hikari.MessageFlag.LOADING
    assert sim.stats.interactions_answered == 3
