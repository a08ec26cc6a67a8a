"""The simulated world's records: users, guilds and what they hold, messages.

Plain mutable slotted dataclasses; JSON shapes live in :mod:`.payloads`.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import Any

__all__ = [
    "Application",
    "Attachment",
    "Ban",
    "Channel",
    "ChannelType",
    "Guild",
    "Interaction",
    "InteractionOutcome",
    "Member",
    "MemberFlags",
    "Message",
    "Role",
    "RoleChange",
    "User",
    "VoiceState",
]

JSON = dict[str, Any]


class ChannelType:
    """Discord channel type numbers used by the simulator."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_STAGE_VOICE = 13
    GUILD_FORUM = 15

    THREADS = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})


@dataclasses.dataclass(slots=True)
class User:
    """A Discord user (human or bot)."""

    id: int
    username: str
    global_name: str | None = None
    avatar: str | None = None
    is_bot: bool = False


@dataclasses.dataclass(slots=True)
class Role:
    """A guild role. The @everyone role's id equals the guild's."""

    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    is_hoisted: bool = False
    is_managed: bool = False
    is_mentionable: bool = False
    bot_id: int | None = None
    """The bot whose managed role this is (Discord's ``tags.bot_id``); None for others."""


@dataclasses.dataclass(slots=True)
class Channel:
    """A guild channel, thread or DM channel."""

    id: int
    type: int
    guild_id: int | None
    name: str | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    is_nsfw: bool = False
    rate_limit_per_user: int = 0
    owner_id: int | None = None
    last_message_id: int | None = None
    recipient_ids: list[int] = dataclasses.field(default_factory=list)


class MemberFlags:
    """Discord's guild member flag bits the simulator sets or accepts."""

    DID_REJOIN = 1 << 0
    COMPLETED_ONBOARDING = 1 << 1
    BYPASSES_VERIFICATION = 1 << 2
    STARTED_ONBOARDING = 1 << 3


@dataclasses.dataclass(slots=True)
class Member:
    """A user's membership of a guild (a per-guild avatar is never set)."""

    user_id: int
    joined_at_ms: int
    nick: str | None = None
    role_ids: list[int] = dataclasses.field(default_factory=list)
    communication_disabled_until_ms: int | None = None
    is_deaf: bool = False
    is_mute: bool = False
    is_pending: bool = False
    """Membership screening not yet passed (only in guilds with the verification gate)."""
    flags: int = 0
    """:class:`MemberFlags` bits."""


@dataclasses.dataclass(frozen=True, slots=True)
class RoleChange:
    """One role granted to or taken from a member, kept for tests to read back."""

    at_ms: int
    """Unix milliseconds of the change."""
    role_id: int
    is_added: bool
    was_pending: bool
    """Whether the member was still pending membership screening at that moment."""
    source: str
    """What changed it: ``rest-put``, ``rest-delete``, ``rest-patch``, ``role-deleted``
    or ``control``."""


@dataclasses.dataclass(slots=True)
class Ban:
    """A guild ban."""

    user_id: int
    reason: str | None = None


@dataclasses.dataclass(slots=True)
class VoiceState:
    """Where a user is connected to voice in a guild."""

    user_id: int
    channel_id: int | None
    session_id: str
    is_self_mute: bool = False
    is_self_deaf: bool = False


@dataclasses.dataclass(slots=True)
class Attachment:
    """A file sent with a message, kept for inspection."""

    id: int
    filename: str
    content_type: str | None
    data: bytes


@dataclasses.dataclass(slots=True)
class Message:
    """A channel message, as sent by a user, the bot or an interaction webhook."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[JSON] = dataclasses.field(default_factory=list)
    components: list[JSON] = dataclasses.field(default_factory=list)
    attachments: list[Attachment] = dataclasses.field(default_factory=list)
    flags: int = 0
    edited_at_ms: int | None = None
    webhook_id: int | None = None
    interaction_id: int | None = None
    type: int = 0


@dataclasses.dataclass(slots=True)
class Guild:
    """A guild. Roles, channels and members are materialised on first use.

    Generated guilds stay cheap until something reads their contents (20,000 guilds of
    the local fleet would otherwise hold millions of objects): see
    :meth:`shoal_sim.discord.world.World.contents`.
    """

    id: int
    name: str
    owner_id: int
    application_id: int
    member_count: int
    """Members now, the bot included (kept current by joins and leaves)."""
    generated_members: int = 0
    """Members generated from the seed (besides the bot); fixed at creation."""
    features: frozenset[str] = frozenset()
    """Guild feature strings (``MEMBER_VERIFICATION_GATE_ENABLED`` turns screening on)."""
    is_generated: bool = True
    roles: dict[int, Role] | None = None
    channels: dict[int, Channel] | None = None
    members: dict[int, Member] | None = None
    bans: dict[int, Ban] = dataclasses.field(default_factory=dict)
    voice_states: dict[int, VoiceState] = dataclasses.field(default_factory=dict)
    commands: dict[int, JSON] = dataclasses.field(default_factory=dict)
    """Guild application commands of the owning application, by id."""


@dataclasses.dataclass(slots=True)
class Application:
    """A bot application: its user, token, commands and session start budget."""

    id: int
    bot_user_id: int
    name: str
    token: str
    max_concurrency: int
    session_start_total: int
    session_start_remaining: int
    session_start_reset_at: float
    """Monotonic time at which ``session_start_remaining`` refills."""
    is_token_revoked: bool = False
    commands: dict[int, JSON] = dataclasses.field(default_factory=dict)
    guild_ids: set[int] = dataclasses.field(default_factory=set)


class InteractionOutcome(enum.Enum):
    """Where an injected interaction stands; every one is in exactly one of these.

    Transitions (decided by :class:`shoal_sim.discord.stats.SimStats`): injected as
    PENDING (some session received it) or UNDELIVERED (none did, which stays so), then a
    PENDING one becomes ANSWERED (an accepted initial response) or UNANSWERED (its
    deadline passed first).
    """

    PENDING = "pending"
    """Dispatched, not answered, its deadline not yet passed."""
    ANSWERED = "answered"
    """An initial response was accepted in time."""
    UNANSWERED = "unanswered"
    """The deadline passed with no accepted initial response."""
    UNDELIVERED = "undelivered"
    """No session covered its guild (shard 0 for a DM) when it was injected."""


@dataclasses.dataclass(slots=True)
class Interaction:
    """An injected interaction and what the bot did with it."""

    id: int
    token: str
    application_id: int
    type: int
    guild_id: int | None
    channel_id: int
    user_id: int
    data: JSON
    created_at: float
    """Monotonic time the interaction was created (its deadline counts from dispatch)."""
    dispatched_at: float | None = None
    """Monotonic time the first INTERACTION_CREATE carrying it was sent."""
    responded_at: float | None = None
    response_type: int | None = None
    response: JSON | None = None
    original_message_id: int | None = None
    followup_message_ids: list[int] = dataclasses.field(default_factory=list)
    is_late: bool = False
    acknowledge_attempts: int = 0
    source_message_id: int | None = None
    """For component interactions: the message whose component was used."""
    created_at_unix: float = dataclasses.field(default_factory=time.time)
    """Wall-clock time of creation (Unix seconds), to match against the bot's logs."""
    sessions_reached: int = 0
    """How many sessions INTERACTION_CREATE went to."""
    outcome: InteractionOutcome = InteractionOutcome.PENDING
    counted_in: int | None = None
    """The statistics epoch that counts it (:attr:`SimStats.epoch`); None: never counted."""

    def unix_time_of(self, monotonic_s: float) -> float:
        """Return the wall-clock time of a monotonic instant of this interaction's life."""
        return self.created_at_unix + (monotonic_s - self.created_at)
