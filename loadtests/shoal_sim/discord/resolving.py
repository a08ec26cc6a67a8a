"""An interaction's ``data.resolved``: the users, members, roles and channels it names.

Owns finding the ids that a command's options (nested in subcommands and subcommand
groups too) or a user, role, mentionable or channel select menu's values name, and
building Discord's resolved-data maps for them from the world: ``users``, ``members``
(without ``user``, ``deaf`` and ``mute``, with ``permissions``), ``roles`` (full role
objects) and ``channels`` (partial: id, name, type, permissions, parent id, thread
metadata), each keyed by id string. An id the world does not know is refused with
:class:`UnresolvedOptionError` naming the option, where Discord would never send it.
Does not own the rest of the interaction (:mod:`.payloads`) nor the control route
(:mod:`.control.interactions`). Attachments (option type 11) are not resolved: the
simulator has no upload of interaction attachments.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final, NoReturn

from shoal_sim.discord import payloads, permissions

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shoal_sim.discord.entities import Channel, Guild, Role
    from shoal_sim.discord.world import World

__all__ = [
    "ALL_PERMISSIONS",
    "OptionType",
    "Reference",
    "UnresolvedOptionError",
    "guild_permissions",
    "partial_channel_json",
    "references_in_options",
    "references_in_values",
    "resolved_data",
]

JSON = dict[str, Any]

ALL_PERMISSIONS: Final = (1 << 51) - 1
"""Every permission bit Discord defines (2251799813685247): what ADMINISTRATOR grants."""

_PARTIAL_CHANNEL_KEYS: Final = ("id", "name", "type", "parent_id", "thread_metadata")
"""What Discord keeps of a channel in resolved data (besides ``permissions``)."""


class OptionType:
    """Discord's application command option types the resolver walks or resolves."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9

    RESOLVED = frozenset({USER, CHANNEL, ROLE, MENTIONABLE})
    NESTING = frozenset({SUB_COMMAND, SUB_COMMAND_GROUP})


_SELECT_KINDS: Final = {
    5: OptionType.USER,
    6: OptionType.ROLE,
    7: OptionType.MENTIONABLE,
    8: OptionType.CHANNEL,
}
"""Select menu component type -> the option type its values are resolved as."""


class UnresolvedOptionError(ValueError):
    """An option or select value names an id the world cannot resolve (or is no id)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    """One id an interaction names, to be resolved."""

    name: str
    """The option's path (``group.sub.option``) or ``values[i]``, for error messages."""
    kind: int
    """An :class:`OptionType` of :attr:`OptionType.RESOLVED`."""
    target_id: int


def _snowflake(name: str, value: object) -> int:
    """Return ``value`` as a snowflake, or refuse the option."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        msg = f"option {name}: value must be an id string"
        raise UnresolvedOptionError(msg)
    try:
        snowflake = int(value)
    except ValueError:
        msg = f"option {name}: value {value!r} is not an id"
        raise UnresolvedOptionError(msg) from None
    if snowflake <= 0:
        msg = f"option {name}: value {value!r} is not an id"
        raise UnresolvedOptionError(msg)
    return snowflake


def references_in_options(options: Iterable[object], prefix: str = "") -> list[Reference]:
    """Return the ids named by user, channel, role and mentionable options, depth first.

    Subcommands and subcommand groups are walked; a focused option (autocomplete, whose
    value is what the user is typing) is skipped; options that are not objects are left
    to the bot to refuse.
    """
    found: list[Reference] = []
    for option in options:
        if not isinstance(option, dict):
            continue
        name = f"{prefix}{option.get('name', '?')}"
        kind = option.get("type")
        if kind in OptionType.NESTING:
            found += references_in_options(option.get("options") or [], f"{name}.")
        elif kind in OptionType.RESOLVED and not option.get("focused"):
            found.append(Reference(name, kind, _snowflake(name, option.get("value"))))
    return found


def references_in_values(component_type: int, values: Iterable[str]) -> list[Reference]:
    """Return the ids a select menu's values name (none for string selects and buttons)."""
    kind = _SELECT_KINDS.get(component_type)
    if kind is None:
        return []
    return [
        Reference(f"values[{index}]", kind, _snowflake(f"values[{index}]", value))
        for index, value in enumerate(values)
    ]


@dataclasses.dataclass(slots=True)
class _Resolving:
    """The maps being filled for one interaction, and what they are filled from."""

    world: World
    guild: Guild | None
    channel_permissions: int
    users: JSON = dataclasses.field(default_factory=dict)
    members: JSON = dataclasses.field(default_factory=dict)
    roles: JSON = dataclasses.field(default_factory=dict)
    channels: JSON = dataclasses.field(default_factory=dict)

    def add(self, reference: Reference) -> None:
        kind = reference.kind
        if kind == OptionType.ROLE or (
            kind == OptionType.MENTIONABLE and self._is_role(reference.target_id)
        ):
            self._add_role(reference)
        elif kind in (OptionType.USER, OptionType.MENTIONABLE):
            self._add_user(reference)
        else:
            self._add_channel(reference)

    def _is_role(self, role_id: int) -> bool:
        if self.guild is None:
            return False
        roles, _ = self.world.structure(self.guild)
        return role_id in roles

    def _add_role(self, reference: Reference) -> None:
        role = None
        if self.guild is not None:
            roles, _ = self.world.structure(self.guild)
            role = roles.get(reference.target_id)
        if role is None:
            _refuse(reference, "role")
        self.roles[str(role.id)] = payloads.role_json(role)

    def _add_user(self, reference: Reference) -> None:
        user = self.world.user(reference.target_id)
        if user is None:
            _refuse(reference, "user")
        self.users[str(user.id)] = payloads.user_json(user)
        if self.guild is None:
            return
        roles, _, members = self.world.contents(self.guild)
        member = members.get(user.id)
        if member is None:  # a user outside the guild: Discord resolves the user only
            return
        payload = payloads.member_json(member, user, with_user=False)
        del payload["deaf"], payload["mute"]
        payload["permissions"] = str(guild_permissions(member.role_ids, roles, self.guild.id))
        self.members[str(user.id)] = payload

    def _add_channel(self, reference: Reference) -> None:
        channel = self.world.channel(reference.target_id)
        guild_id = None if self.guild is None else self.guild.id
        if channel is None or channel.guild_id != guild_id:
            _refuse(reference, "channel")
        self.channels[str(channel.id)] = partial_channel_json(channel, self.channel_permissions)

    def json(self) -> JSON:
        maps = {
            "users": self.users,
            "members": self.members,
            "roles": self.roles,
            "channels": self.channels,
        }
        return {key: value for key, value in maps.items() if value}


def _refuse(reference: Reference, what: str) -> NoReturn:
    msg = f"option {reference.name}: unknown {what} {reference.target_id}"
    raise UnresolvedOptionError(msg)


def guild_permissions(role_ids: Iterable[int], roles: Mapping[int, Role], everyone_id: int) -> int:
    """Return a member's guild permissions, every bit when a role grants ADMINISTRATOR."""
    bits = permissions.member_permissions(role_ids, roles, everyone_id)
    return ALL_PERMISSIONS if bits & permissions.ADMINISTRATOR else bits


def partial_channel_json(channel: Channel, permission_bits: int) -> JSON:
    """Return a channel as resolved data carries it: partial, with the invoker's permissions."""
    full = payloads.channel_json(channel)
    partial: JSON = {key: full[key] for key in _PARTIAL_CHANNEL_KEYS if key in full}
    partial["permissions"] = str(permission_bits)
    return partial


def resolved_data(
    world: World, guild: Guild | None, invoker_id: int, references: Iterable[Reference]
) -> JSON:
    """Return ``data.resolved`` for ``references`` (only the maps that have entries).

    Channel permissions are the invoker's (the simulator has no overwrites, so its guild
    permissions; every bit in a DM, as Discord computes them there).

    Raises:
        UnresolvedOptionError: when a reference names a role, user or channel that the
            world (or, for roles and channels, the interaction's guild) does not have.
    """
    channel_bits = ALL_PERMISSIONS
    if guild is not None:
        roles, _, members = world.contents(guild)
        invoker = members.get(invoker_id)
        channel_bits = guild_permissions(
            [] if invoker is None else invoker.role_ids, roles, guild.id
        )
    resolving = _Resolving(world, guild, channel_bits)
    for reference in references:
        resolving.add(reference)
    return resolving.json()
