"""The simulated world: generated guilds, lazy lookups, message caps, tokens, session starts."""

from __future__ import annotations

from typing import Any

import pytest

from shoal_sim.discord.entities import Channel, ChannelType, Guild, Message
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from shoal_sim.discord.snowflakes import bot_id_from_token, make_token, shard_for
from shoal_sim.discord.world import World, generated_channel_id, generated_member_id

#: The world's caps, as documented on World.add_message.
_USER_MESSAGES_KEPT = 10_000
_BOT_MESSAGES_KEPT_PER_CHANNEL = 500


def _world(**overrides: Any) -> World:  # noqa: ANN401 - SimSettings fields of any type
    fields: dict[str, Any] = {"guilds": 5, "members_per_guild": 20, "channels_per_guild": 6}
    return World(SimSettings(**(fields | overrides)))


def _first_guild(world: World) -> Guild:
    return next(iter(world.guilds.values()))


def _snapshot(world: World) -> list[tuple[Any, ...]]:
    """Everything generated about each guild, in plain values."""
    shots = []
    for guild in world.guilds.values():
        roles, channels, members = world.contents(guild)
        shots.append(
            (
                guild.id,
                guild.name,
                guild.owner_id,
                [(r.id, r.name, r.color, r.permissions) for r in roles.values()],
                [(c.id, c.name, c.type, c.parent_id) for c in channels.values()],
                [(m.user_id, m.joined_at_ms, m.role_ids) for m in members.values()],
            )
        )
    return shots


def _message(world: World, channel_id: int, author_id: int = 1) -> Message:
    return Message(
        id=world.ids.next_id(), channel_id=channel_id, guild_id=None, author_id=author_id
    )


def test_world_generates_the_same_guilds_when_the_seed_is_the_same() -> None:
    first, second = _world(seed=11), _world(seed=11)
    assert _snapshot(first) == _snapshot(second)
    assert first.user(generated_member_id(_first_guild(first), 3)) == second.user(
        generated_member_id(_first_guild(second), 3)
    )


def test_world_generates_other_guilds_when_the_seed_differs() -> None:
    assert set(_world(seed=1).guilds).isdisjoint(_world(seed=2).guilds)


def test_world_shapes_guilds_by_settings_when_generating() -> None:
    world = _world(members_per_guild=7, channels_per_guild=4, roles_per_guild=3)
    app = next(iter(world.applications.values()))
    guild = _first_guild(world)
    roles, channels, members = world.contents(guild)
    assert len(world.guilds) == 5
    assert app.guild_ids == set(world.guilds)
    assert len(roles) == 3 + 2  # and @everyone (whose id is the guild's) and the bot's role
    assert guild.id in roles
    assert [r.is_managed for r in roles.values()].count(True) == 1
    assert [c.type for c in channels.values()].count(ChannelType.GUILD_CATEGORY) == 1
    assert len(channels) == 4
    assert len(members) == 7 + 1  # and the bot
    assert app.bot_user_id in members
    assert guild.member_count == 8


def test_world_resolves_a_generated_member_when_its_guild_was_never_read() -> None:
    world = _world()
    guild = _first_guild(world)
    member_id = generated_member_id(guild, 19)
    user = world.user(member_id)
    assert guild.members is None  # nothing was materialised to answer
    assert user is not None
    assert user.id == member_id
    assert not user.is_bot
    assert world.user(member_id) is user


def test_world_resolves_a_generated_channel_when_its_guild_was_never_read() -> None:
    world = _world()
    guild = _first_guild(world)
    assert guild.channels is None
    channel = world.channel(generated_channel_id(guild, 1))
    assert channel is not None
    assert channel.guild_id == guild.id
    assert channel.type == ChannelType.GUILD_TEXT
    assert channel.name == "general"


def test_world_returns_none_when_an_id_is_unknown() -> None:
    world = _world(members_per_guild=20, channels_per_guild=6)
    guild = _first_guild(world)
    unknown_stamp = world.ids.next_id()
    assert world.user(unknown_stamp) is None
    assert world.channel(unknown_stamp) is None
    assert world.user(generated_member_id(guild, 20)) is None  # one past the last member
    assert world.channel(generated_channel_id(guild, 6)) is None  # one past the last channel
    assert world.user(generated_channel_id(guild, 1)) is None  # a channel is not a user
    assert world.guild(unknown_stamp) is None


def test_world_knows_the_bot_user_when_an_application_is_added() -> None:
    world = _world()
    bot = world.user(bot_id_from_token(DEFAULT_TOKEN))
    assert bot is not None
    assert bot.is_bot


def test_world_refuses_an_application_when_its_bot_id_is_taken() -> None:
    world = _world()
    with pytest.raises(ValueError, match="same bot id"):
        world.add_application(make_token(bot_id_from_token(DEFAULT_TOKEN), "other"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("roles_per_guild", 999), ("channels_per_guild", 9000), ("members_per_guild", 1 << 22)],
)
def test_world_refuses_settings_when_generated_ids_would_overflow_a_guild(
    field: str, value: int
) -> None:
    with pytest.raises(ValueError, match=field):
        _world(guilds=0, **{field: value})


def test_world_adds_a_guild_when_the_bot_joins() -> None:
    world = _world()
    app = next(iter(world.applications.values()))
    guild = world.add_guild(app, name="Added", members=3)
    assert world.guild(guild.id) is guild
    assert guild.id in app.guild_ids
    assert guild.name == "Added"
    assert guild.member_count == 4
    assert world.user(generated_member_id(guild, 2)) is not None
    assert world.user(generated_member_id(guild, 3)) is None


def test_world_owns_a_memberless_guild_by_the_bot_when_it_has_no_members() -> None:
    world = _world()
    app = next(iter(world.applications.values()))
    guild = world.add_guild(app, members=0)
    assert guild.owner_id == app.bot_user_id
    assert world.user(generated_member_id(guild, 0)) is None


def test_world_forgets_a_guild_and_its_messages_when_the_bot_leaves() -> None:
    world = _world()
    app = next(iter(world.applications.values()))
    guild = _first_guild(world)
    channel_id = generated_channel_id(guild, 1)
    world.add_message(_message(world, channel_id))
    member_id = generated_member_id(guild, 5)
    removed = world.remove_guild(guild.id)
    assert removed is guild
    assert world.guild(guild.id) is None
    assert guild.id not in app.guild_ids
    assert world.channel(channel_id) is None
    assert world.user(member_id) is None
    assert channel_id not in world.messages
    assert world.remove_guild(guild.id) is None


def test_world_keeps_one_dm_channel_when_a_user_is_messaged_twice() -> None:
    world = _world()
    channel = world.dm_channel(42)
    assert world.dm_channel(42) is channel
    assert world.dm_channel(43) is not channel
    assert channel.type == ChannelType.DM
    assert world.channel(channel.id) is channel


def test_world_indexes_a_channel_when_one_is_created_at_run_time() -> None:
    world = _world()
    guild = _first_guild(world)
    thread = Channel(
        id=world.ids.next_id(), type=ChannelType.PUBLIC_THREAD, guild_id=guild.id, name="t"
    )
    world.add_channel(thread)
    assert world.channel(thread.id) is thread
    assert thread.id in world.contents(guild)[1]


def test_world_caps_user_messages_globally_when_users_send_many() -> None:
    world = _world(guilds=25)  # 400 messages a channel: no channel holds more than the bot may
    channels = [generated_channel_id(g, 1) for g in world.guilds.values()]
    sent = [
        _message(world, channels[index % len(channels)]) for index in range(_USER_MESSAGES_KEPT + 1)
    ]
    for message in sent:
        world.add_message(message, is_from_user=True)
    kept = list(world.all_messages())
    assert len(kept) == _USER_MESSAGES_KEPT
    assert world.message(sent[0].channel_id, sent[0].id) is None
    assert world.message(sent[1].channel_id, sent[1].id) is sent[1]
    assert world.message(sent[-1].channel_id, sent[-1].id) is sent[-1]


def test_world_caps_bot_messages_per_channel_when_the_bot_sends_many() -> None:
    world = _world()
    guilds = list(world.guilds.values())
    busy, calm = generated_channel_id(guilds[0], 1), generated_channel_id(guilds[1], 1)
    elsewhere = _message(world, calm)
    world.add_message(elsewhere)
    sent = [_message(world, busy) for _ in range(_BOT_MESSAGES_KEPT_PER_CHANNEL + 1)]
    for message in sent:
        world.add_message(message)
    assert len(world.messages[busy]) == _BOT_MESSAGES_KEPT_PER_CHANNEL
    assert world.message(busy, sent[0].id) is None
    assert world.message(busy, sent[1].id) is sent[1]
    assert world.message(calm, elsewhere.id) is elsewhere


def test_world_keeps_bot_messages_when_users_flood_the_same_channel() -> None:
    world = _world()
    channel_id = generated_channel_id(_first_guild(world), 1)
    reply = _message(world, channel_id)
    world.add_message(reply)
    for _ in range(2 * _BOT_MESSAGES_KEPT_PER_CHANNEL):
        world.add_message(_message(world, channel_id), is_from_user=True)
    assert world.message(channel_id, reply.id) is reply


def test_world_marks_the_last_message_when_a_message_is_added() -> None:
    world = _world()
    channel_id = generated_channel_id(_first_guild(world), 1)
    message = _message(world, channel_id)
    world.add_message(message, is_from_user=True)
    channel = world.channel(channel_id)
    assert channel is not None
    assert channel.last_message_id == message.id


def test_world_stops_accepting_the_old_token_when_it_is_reset() -> None:
    world = _world()
    app = world.application_for_token(DEFAULT_TOKEN)
    assert app is not None
    new_token = world.reset_token(app)
    assert new_token != DEFAULT_TOKEN
    assert world.application_for_token(DEFAULT_TOKEN) is None
    assert world.application_for_token(new_token) is app
    assert bot_id_from_token(new_token) == app.bot_user_id
    assert world.reset_token(app) != new_token


def test_world_refuses_a_revoked_token_when_asked_for_its_application() -> None:
    world = _world()
    app = world.application_for_token(DEFAULT_TOKEN)
    assert app is not None
    app.is_token_revoked = True
    assert world.application_for_token(DEFAULT_TOKEN) is None


def test_world_keeps_spent_session_starts_when_the_period_has_not_passed() -> None:
    world = _world(session_start_total=10, session_start_reset_s=100.0)
    app = next(iter(world.applications.values()))
    app.session_start_remaining = 0
    reset_at = app.session_start_reset_at
    world.refresh_session_starts(app, reset_at - 0.001)
    assert app.session_start_remaining == 0
    assert app.session_start_reset_at == reset_at


def test_world_refills_session_starts_when_the_period_has_passed() -> None:
    world = _world(session_start_total=10, session_start_reset_s=100.0)
    app = next(iter(world.applications.values()))
    app.session_start_remaining = 0
    now = app.session_start_reset_at + 5.0
    world.refresh_session_starts(app, now)
    assert app.session_start_remaining == 10
    assert app.session_start_reset_at == now + 100.0


def _by_scan(world: World, shard_id: int, shard_count: int) -> set[int]:
    app = next(iter(world.applications.values()))
    return {g for g in app.guild_ids if shard_for(g, shard_count) == shard_id}


def test_guild_ids_on_shard_matches_a_scan_when_guilds_join_and_leave() -> None:
    world = _world(guilds=200)
    app = next(iter(world.applications.values()))
    for count in (1, 3, 8):
        assert {g for s in range(count) for g in world.guild_ids_on_shard(app, s, count)} == set(
            app.guild_ids
        )
    joined = [world.add_guild(app).id for _ in range(30)]
    for guild_id in joined[:10] + sorted(app.guild_ids)[:10]:
        world.remove_guild(guild_id)
    for count in (3, 8, 5):  # 3 and 8 were indexed before the changes, 5 after
        for shard_id in range(count):
            assert set(world.guild_ids_on_shard(app, shard_id, count)) == _by_scan(
                world, shard_id, count
            )


def test_guild_ids_on_shard_stays_right_when_old_indexes_are_dropped() -> None:
    world = _world(guilds=50)
    app = next(iter(world.applications.values()))
    for count in range(1, 21):  # more shard counts than the world keeps indexes for
        world.guild_ids_on_shard(app, 0, count)
    world.add_guild(app)
    for count in (1, 20):
        assert set(world.guild_ids_on_shard(app, 0, count)) == _by_scan(world, 0, count)
