"""The simulated Discord's state: applications, guilds, users, channels, messages.

Generated guilds stay cheap until used: a guild's roles, channels and members are built
deterministically from the seed on first access (:meth:`World.contents`). Every
generated child id shares its guild's timestamp bits (``id >> 22``), so any generated
id leads back to its guild without an index.

Every generated guild has, as on Discord, the bot's own managed role (named after the
bot, with MANAGE_ROLES and the usual moderation permissions) above every generated
role; the bot member holds only that role. Generated users get an avatar hash from the
seed (:func:`shoal_sim.discord.avatars.avatar_hash`), all but a
``1 - avatar_fraction`` share of them. Joins, leaves and role changes at run time are
:mod:`shoal_sim.discord.membership`'s.
"""

from __future__ import annotations

import collections
import random
import secrets
import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import permissions
from shoal_sim.discord.avatars import avatar_hash
from shoal_sim.discord.entities import (
    Application,
    Channel,
    ChannelType,
    Guild,
    Interaction,
    Member,
    Message,
    Role,
    RoleChange,
    User,
)
from shoal_sim.discord.snowflakes import (
    DISCORD_EPOCH_MS,
    SnowflakeFactory,
    bot_id_from_token,
    make_token,
    shard_for,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    from shoal_sim.discord.settings import SimSettings

#: Shard counts whose guild index is kept (two generations of a few bots at once).
_MAX_SHARD_INDEXES: Final = 8

__all__ = ["World", "generated_channel_id", "generated_member_id"]

_LOW_BITS: Final = (1 << 22) - 1
#: Offsets of generated children within their guild's id space (see module docstring).
_ROLE_OFFSET: Final = 1
_CHANNEL_OFFSET: Final = 1_000
#: The bot's managed role takes the last role offset, whatever ``roles_per_guild`` is.
_BOT_ROLE_OFFSET: Final = _CHANNEL_OFFSET - 1
_MEMBER_OFFSET: Final = 10_000
_MAX_MEMBERS: Final = _LOW_BITS - _MEMBER_OFFSET
#: The bot's messages kept per channel for inspection; older ones are forgotten.
_MESSAGES_KEPT_PER_CHANNEL: Final = 500
#: Messages from (simulated) users kept in all; a load test sends millions, and keeping
#: them all would grow memory without bound and slow every garbage collection.
_USER_MESSAGES_KEPT: Final = 10_000
#: Permissions of @everyone in generated guilds, and of generated roles other than Admin:
#: Discord's default for a new guild's @everyone (nothing that manages or moderates), so
#: only the bot's managed role lets the bot manage roles, as in a real guild.
_EVERYONE_PERMISSIONS: Final = permissions.EVERYONE_DEFAULT

_ADJECTIVES: Final = ("Cosy", "Loud", "Quiet", "Retro", "Cosmic", "Sunny", "Misty", "Neon")
_NOUNS: Final = ("Lounge", "Guild", "Tavern", "Harbour", "Garden", "Arcade", "Studio", "Den")


def _joined_base_ms(guild: Guild) -> int:
    """Return when generated members joined: from the guild's creation time on."""
    return (guild.id >> 22) + DISCORD_EPOCH_MS


def _child_id(guild_id: int, offset: int) -> int:
    low = ((guild_id & _LOW_BITS) + offset) & _LOW_BITS
    return (guild_id & ~_LOW_BITS) | low


class World:
    """All simulated state, with the operations REST, gateway and control share."""

    def __init__(self, settings: SimSettings) -> None:
        """Create the applications and generate the first application's guilds."""
        if settings.members_per_guild > _MAX_MEMBERS or settings.roles_per_guild >= (
            _BOT_ROLE_OFFSET - _ROLE_OFFSET
        ):
            msg = "members_per_guild or roles_per_guild is too large for generated guilds"
            raise ValueError(msg)
        if settings.channels_per_guild >= _MEMBER_OFFSET - _CHANNEL_OFFSET:
            msg = "channels_per_guild is too large for generated guilds"
            raise ValueError(msg)
        self.settings = settings
        self.ids = SnowflakeFactory(settings.seed)
        self.applications: dict[int, Application] = {}
        self._apps_by_token: dict[str, Application] = {}
        self.guilds: dict[int, Guild] = {}
        self._guilds_by_stamp: dict[int, Guild] = {}
        self._shard_index: dict[tuple[int, int], dict[int, dict[int, None]]] = {}
        """Per (application, shard count): each shard's guild ids, built on first use and
        kept current, so an IDENTIFY costs its shard's guilds rather than the whole bot's."""
        self._users: dict[int, User] = {}
        self._channels: dict[int, Channel] = {}
        self.messages: dict[int, collections.OrderedDict[int, Message]] = {}
        self._user_messages: collections.deque[tuple[int, int]] = collections.deque()
        self._bot_messages: dict[int, collections.deque[int]] = {}
        """Ids of the bot's kept messages per channel, oldest first (for the per-channel cap)."""
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        self.role_history: dict[tuple[int, int], list[RoleChange]] = {}
        self._stand_in_bot_id: int | None = None
        """Role changes by (guild id, user id), oldest first (see :mod:`.membership`)."""
        for token in settings.tokens:
            self.add_application(token)
        first = next(iter(self.applications.values()))
        for _ in range(settings.guilds):
            self.add_guild(first)

    # -- applications -------------------------------------------------------------

    def add_application(self, token: str) -> Application:
        """Register a bot application for ``token`` (its id comes from the token)."""
        bot_id = bot_id_from_token(token)
        if bot_id in self.applications:
            msg = f"two tokens name the same bot id {bot_id}"
            raise ValueError(msg)
        self._users[bot_id] = User(
            id=bot_id, username=f"shoal-sim-bot-{len(self.applications)}", is_bot=True
        )
        app = Application(
            id=bot_id,
            bot_user_id=bot_id,
            name=f"Shoal simulated bot {len(self.applications)}",
            token=token,
            max_concurrency=self.settings.max_concurrency,
            session_start_total=self.settings.session_start_total,
            session_start_remaining=self.settings.session_start_total,
            session_start_reset_at=time.monotonic() + self.settings.session_start_reset_s,
        )
        self.applications[app.id] = app
        self._apps_by_token[token] = app
        return app

    def application_for_token(self, token: str) -> Application | None:
        """Return the application a (non-revoked) bot token belongs to."""
        app = self._apps_by_token.get(token)
        if app is None or app.is_token_revoked:
            return None
        return app

    def refresh_session_starts(self, app: Application, now: float) -> None:
        """Refill the session start budget once its period has passed."""
        if now >= app.session_start_reset_at:
            app.session_start_remaining = app.session_start_total
            app.session_start_reset_at = now + self.settings.session_start_reset_s

    def reset_token(self, app: Application) -> str:
        """Give ``app`` a new token (the old one stops working), as Discord does."""
        self._apps_by_token.pop(app.token, None)
        app.token = make_token(app.bot_user_id, secrets.token_urlsafe(24))
        app.is_token_revoked = False
        self._apps_by_token[app.token] = app
        return app.token

    # -- guilds -----------------------------------------------------------------

    def add_guild(
        self, app: Application, *, name: str | None = None, members: int | None = None
    ) -> Guild:
        """Create a generated guild the bot of ``app`` is in."""
        guild_id = self.ids.next_guild_id()
        rng = random.Random(guild_id ^ self.settings.seed)  # noqa: S311 - names, not secrets
        member_count = self.settings.members_per_guild if members is None else members
        guild = Guild(
            id=guild_id,
            name=name or f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {guild_id % 10_000}",
            owner_id=_child_id(guild_id, _MEMBER_OFFSET) if member_count else app.bot_user_id,
            application_id=app.id,
            member_count=member_count + 1,
            generated_members=member_count,
        )
        self.guilds[guild_id] = guild
        self._guilds_by_stamp[guild_id >> 22] = guild
        app.guild_ids.add(guild_id)
        for (app_id, count), shards in self._shard_index.items():
            if app_id == app.id:
                shards.setdefault(shard_for(guild_id, count), {})[guild_id] = None
        return guild

    def remove_guild(self, guild_id: int) -> Guild | None:
        """Remove the bot from a guild (the guild is forgotten)."""
        guild = self.guilds.pop(guild_id, None)
        if guild is None:
            return None
        self._guilds_by_stamp.pop(guild_id >> 22, None)
        app = self.applications.get(guild.application_id)
        if app is not None:
            app.guild_ids.discard(guild_id)
            for (app_id, count), shards in self._shard_index.items():
                if app_id == app.id:
                    shards.get(shard_for(guild_id, count), {}).pop(guild_id, None)
        if guild.channels:
            for channel_id in guild.channels:
                self._channels.pop(channel_id, None)
                self.messages.pop(channel_id, None)
                self._bot_messages.pop(channel_id, None)
        return guild

    def guild(self, guild_id: int) -> Guild | None:
        """Return a guild by id."""
        return self.guilds.get(guild_id)

    def guilds_of(self, app: Application) -> Iterator[Guild]:
        """Yield the guilds ``app``'s bot is in."""
        for guild_id in app.guild_ids:
            guild = self.guilds.get(guild_id)
            if guild is not None:
                yield guild

    def guild_ids_on_shard(
        self, app: Application, shard_id: int, shard_count: int
    ) -> Collection[int]:
        """Return the ids of ``app``'s guilds that shard ``shard_id`` of ``shard_count`` owns.

        Read-only view; valid until the bot joins or leaves a guild.
        """
        shards = self._shard_index.get((app.id, shard_count))
        if shards is None:
            shards = {}
            for guild_id in app.guild_ids:
                shards.setdefault(shard_for(guild_id, shard_count), {})[guild_id] = None
            if len(self._shard_index) >= _MAX_SHARD_INDEXES:  # a reshard: drop the oldest
                del self._shard_index[next(iter(self._shard_index))]
            self._shard_index[app.id, shard_count] = shards
        return shards.get(shard_id, {}).keys()

    def contents(
        self, guild: Guild
    ) -> tuple[dict[int, Role], dict[int, Channel], dict[int, Member]]:
        """Return (materialising on first use) a guild's roles, channels and members."""
        roles, channels = self.structure(guild)
        if guild.members is None:
            self._materialise_members(guild, roles)
        assert guild.members is not None  # noqa: S101 - set by _materialise_members
        return roles, channels, guild.members

    def structure(self, guild: Guild) -> tuple[dict[int, Role], dict[int, Channel]]:
        """Return (materialising on first use) a guild's roles and channels, not its members.

        GUILD_CREATE needs only these (and the bot's member): a boot of 20,000 guilds
        then never builds the guilds' member lists.
        """
        if guild.roles is None or guild.channels is None:
            self._materialise_structure(guild)
        assert guild.roles is not None  # noqa: S101 - set by _materialise_structure
        assert guild.channels is not None  # noqa: S101
        return guild.roles, guild.channels

    def bot_member(self, guild: Guild) -> Member:
        """Return the bot's own member of a guild (without building the member list)."""
        bot_id = self.applications[guild.application_id].bot_user_id
        if guild.members is not None and bot_id in guild.members:
            return guild.members[bot_id]
        roles, _ = self.structure(guild)
        return self._generated_bot_member(guild, roles)

    def _generated_bot_member(self, guild: Guild, roles: dict[int, Role]) -> Member:
        bot_id = self.applications[guild.application_id].bot_user_id
        bot_role = _child_id(guild.id, _BOT_ROLE_OFFSET)
        role_ids = [bot_role] if bot_role in roles else []
        return Member(user_id=bot_id, joined_at_ms=_joined_base_ms(guild), role_ids=role_ids)

    def bot_role_id(self, guild: Guild) -> int:
        """Return the id of the bot's managed role in a generated guild."""
        return _child_id(guild.id, _BOT_ROLE_OFFSET)

    def _materialise_structure(self, guild: Guild) -> None:
        # A multiplicative hash, not random.Random: seeding a Mersenne twister per guild
        # would cost more than building the guild.
        palette = (guild.id * 2_654_435_761 + self.settings.seed) & 0xFFFFFF
        roles = {guild.id: Role(id=guild.id, name="@everyone", permissions=_EVERYONE_PERMISSIONS)}
        for index in range(self.settings.roles_per_guild):
            role_id = _child_id(guild.id, _ROLE_OFFSET + index)
            roles[role_id] = Role(
                id=role_id,
                name="Admin" if index == 0 else f"role-{index}",
                permissions=permissions.ADMINISTRATOR if index == 0 else _EVERYONE_PERMISSIONS,
                position=self.settings.roles_per_guild - index,
                color=(palette * (index + 1)) & 0xFFFFFF,
                is_hoisted=index < 2,  # noqa: PLR2004 - two hoisted roles look realistic
                is_mentionable=index % 2 == 0,
            )
        bot_role_id = _child_id(guild.id, _BOT_ROLE_OFFSET)
        bot_user_id = self.applications[guild.application_id].bot_user_id
        bot_user = self._users.get(bot_user_id)
        roles[bot_role_id] = Role(
            id=bot_role_id,
            name=bot_user.username if bot_user else "bot",
            permissions=permissions.BOT_ROLE,
            position=self.settings.roles_per_guild + 1,
            is_managed=True,
            bot_id=bot_user_id,
        )
        channels: dict[int, Channel] = {}
        if self.settings.channels_per_guild:
            category_id = _child_id(guild.id, _CHANNEL_OFFSET)
            channels[category_id] = Channel(
                id=category_id, type=ChannelType.GUILD_CATEGORY, guild_id=guild.id, name="General"
            )
            for index in range(1, self.settings.channels_per_guild):
                channel_id = _child_id(guild.id, _CHANNEL_OFFSET + index)
                is_voice = index % 4 == 0
                channels[channel_id] = Channel(
                    id=channel_id,
                    type=ChannelType.GUILD_VOICE if is_voice else ChannelType.GUILD_TEXT,
                    guild_id=guild.id,
                    name=f"voice-{index}"
                    if is_voice
                    else ("general" if index == 1 else f"chat-{index}"),
                    position=index,
                    parent_id=category_id,
                    topic=None if is_voice else f"Channel {index} of {guild.name}",
                )
        guild.roles, guild.channels = roles, channels

    def _materialise_members(self, guild: Guild, roles: dict[int, Role]) -> None:
        rng = random.Random(guild.id * 37 + self.settings.seed)  # noqa: S311 - not secrets
        joined_base_ms = _joined_base_ms(guild)
        role_ids = [r for r, role in roles.items() if r != guild.id and not role.is_managed]
        members: dict[int, Member] = {}
        for index in range(guild.generated_members):
            user_id = _child_id(guild.id, _MEMBER_OFFSET + index)
            picked = [r for r in role_ids if rng.random() < 0.2]  # noqa: PLR2004
            members[user_id] = Member(
                user_id=user_id, joined_at_ms=joined_base_ms + index * 60_000, role_ids=picked
            )
        bot = self._generated_bot_member(guild, roles)
        members[bot.user_id] = bot
        guild.members = members

    # -- users and channels ---------------------------------------------------------

    def user(self, user_id: int) -> User | None:
        """Return a user: a known one, or a generated member of some guild."""
        user = self._users.get(user_id)
        if user is not None:
            return user
        guild = self._guilds_by_stamp.get(user_id >> 22)
        if guild is None:
            return None
        offset = ((user_id & _LOW_BITS) - (guild.id & _LOW_BITS)) & _LOW_BITS
        if not _MEMBER_OFFSET <= offset < _MEMBER_OFFSET + guild.generated_members:
            return None
        rng = random.Random(user_id)  # noqa: S311 - names, not secrets
        user = User(
            id=user_id,
            username=f"user{user_id % 10_000_000:07d}",
            global_name=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}",
            avatar=avatar_hash(self.settings.seed, user_id, self.settings.avatar_fraction),
        )
        self._users[user_id] = user
        return user

    def add_user(
        self,
        username: str,
        *,
        is_bot: bool = False,
        has_avatar: bool = False,
        user_id: int | None = None,
    ) -> User:
        """Create a user outside any generated guild (with an avatar hash if ``has_avatar``).

        ``user_id`` picks the id (the caller makes sure no user has it); else a new one.
        """
        user_id = self.ids.next_id() if user_id is None else user_id
        avatar = avatar_hash(self.settings.seed, user_id, 1.0) if has_avatar else None
        user = User(id=user_id, username=username, is_bot=is_bot, avatar=avatar)
        self._users[user.id] = user
        return user

    def stand_in_bot(self) -> User:
        """Return (creating on first use) another application's bot user, for bot messages."""
        if self._stand_in_bot_id is None:
            self._stand_in_bot_id = self.add_user("other-bot", is_bot=True).id
        return self._users[self._stand_in_bot_id]

    def channel(self, channel_id: int) -> Channel | None:
        """Return a channel, thread or DM channel by id."""
        channel = self._channels.get(channel_id)
        if channel is not None:
            return channel
        guild = self._guilds_by_stamp.get(channel_id >> 22)
        if guild is None:
            return None
        _, channels = self.structure(guild)
        return channels.get(channel_id)

    def add_channel(self, channel: Channel) -> None:
        """Index a channel created at run time (guild channels also join their guild)."""
        self._channels[channel.id] = channel
        if channel.guild_id is not None:
            guild = self.guilds.get(channel.guild_id)
            if guild is not None:
                _, channels = self.structure(guild)
                channels[channel.id] = channel

    def dm_channel(self, user_id: int) -> Channel:
        """Return (creating on first use) the bot's DM channel with a user."""
        for channel in self._channels.values():
            if channel.type == ChannelType.DM and channel.recipient_ids == [user_id]:
                return channel
        channel = Channel(
            id=self.ids.next_id(), type=ChannelType.DM, guild_id=None, recipient_ids=[user_id]
        )
        self._channels[channel.id] = channel
        return channel

    # -- messages -----------------------------------------------------------------

    def add_message(self, message: Message, *, is_from_user: bool = False) -> None:
        """Keep a message for inspection (the oldest beyond the caps are forgotten).

        Messages from simulated users (``is_from_user``) share one global cap; the bot's
        own messages are kept per channel.
        """
        kept = self.messages.setdefault(message.channel_id, collections.OrderedDict())
        kept[message.id] = message
        if is_from_user:
            ring = self._user_messages
            ring.append((message.channel_id, message.id))
            if len(ring) > _USER_MESSAGES_KEPT:
                channel_id, message_id = ring.popleft()
                old = self.messages.get(channel_id)
                if old is not None:
                    old.pop(message_id, None)
        else:
            # Counted apart from user messages, so load in a busy channel cannot push the
            # bot's replies out before a test reads them.
            own = self._bot_messages.setdefault(message.channel_id, collections.deque())
            own.append(message.id)
            if len(own) > _MESSAGES_KEPT_PER_CHANNEL:
                kept.pop(own.popleft(), None)
        channel = self.channel(message.channel_id)
        if channel is not None:
            channel.last_message_id = message.id

    def message(self, channel_id: int, message_id: int) -> Message | None:
        """Return a kept message."""
        kept = self.messages.get(channel_id)
        return None if kept is None else kept.get(message_id)

    def all_messages(self) -> Iterator[Message]:
        """Yield every kept message, oldest channel first."""
        for kept in self.messages.values():
            yield from kept.values()

    # -- interactions ---------------------------------------------------------------

    def add_interaction(self, interaction: Interaction) -> None:
        """Track an injected interaction by id and token."""
        self.interactions[interaction.id] = interaction
        self.interactions_by_token[interaction.token] = interaction

    def forget_interactions_before(self, created_before: float) -> None:
        """Drop interactions whose tokens expired (keeps memory flat under load)."""
        stale = [i for i in self.interactions.values() if i.created_at < created_before]
        for interaction in stale:
            del self.interactions[interaction.id]
            self.interactions_by_token.pop(interaction.token, None)


def generated_member_id(guild: Guild, index: int) -> int:
    """Return the user id of a guild's ``index``-th generated member."""
    return _child_id(guild.id, _MEMBER_OFFSET + index)


def generated_channel_id(guild: Guild, index: int) -> int:
    """Return the id of a guild's ``index``-th generated channel (0 is the category)."""
    return _child_id(guild.id, _CHANNEL_OFFSET + index)
