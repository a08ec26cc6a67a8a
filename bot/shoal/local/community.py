"""The showcase guild of a local run: what its admin types, what its members click, as data.

Pure. Owns the showcase of onboarding and role menus that ``shoal local up`` drives in
one guild of the simulator (:mod:`shoal.local.populating` does the I/O): the roles it
creates, the control API bodies of the admin's commands (``/onboarding setup|rules|post``,
``/settings set``, ``/rolemenu create|add|post``), of the rules modal and of members'
clicks; reading back what the bot answered (:func:`reply_of`) and what it posted (the
rules message's "I agree" button, the role menu's select, found by their labels and
kinds, never by guessing a custom_id); the steady pace of joins and picks; and the
status's text of the figures. Does not own talking to the simulator, nor any of the
bot's rules (the bot decides; this only reads what a member would see).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "MEMBER",
    "MEMBER_EDITS_PER_S",
    "MENU_TITLE",
    "PRE_MEMBER",
    "RULES_TEXT",
    "SELF_ROLES",
    "SHOWCASE_ROLES",
    "CommunityFigures",
    "MenuMessage",
    "Reply",
    "ShowcaseGuild",
    "ShowcaseRoles",
    "add_role_command",
    "allow_roles_command",
    "click_body",
    "community_parts",
    "create_menu_command",
    "due_now",
    "is_within_member_edit_limit",
    "member_edits_per_s",
    "menu_id_in",
    "menu_message",
    "modal_body",
    "onboarding_command",
    "picked_values",
    "post_menu_command",
    "reply_of",
    "rules_agree_button",
    "setup_command",
    "showcase_guild",
]

PRE_MEMBER: Final = "Pre-Member"
MEMBER: Final = "Member"
SELF_ROLES: Final = ("Red", "Green", "Blue", "Yellow")
"""The self-assignable roles of the showcase's role menu (colours)."""
SHOWCASE_ROLES: Final = (PRE_MEMBER, MEMBER, *SELF_ROLES)
"""Every role the showcase creates, in order (no permissions, below the bot's role)."""
RULES_TEXT: Final = (
    "1. Be kind.\n2. No spam.\n3. Pick your colours in the role menu.\n"
    'Press "I agree" to join the server.'
)
MENU_TITLE: Final = "Colours"
MENU_MAX_PICKS: Final = 2
"""A member holds at most this many colours (the menu's ``max``)."""

MEMBER_EDITS_PER_S: Final = 1.0
"""Discord's member edits (``PATCH /guilds/{g}/members/{u}``) a bot may make in one guild,
10 per 10 s; the simulator holds the bot to it."""

_SUBCOMMAND: Final = 1
_STRING: Final = 3
_INTEGER: Final = 4
_CHANNEL: Final = 7
_ROLE: Final = 8
_GUILD_TEXT: Final = 0
_BUTTON: Final = 2
_STRING_SELECT: Final = 3
_TEXT_INPUT: Final = 4
_MODAL: Final = 9  # the interaction response type that opens a modal
_RULES_INPUT: Final = "rules"  # the text input of the bot's rules modal
_MENU_ID: Final = re.compile(r"Created role menu (\d+)")
_AGREE_LABEL: Final = "I agree"


@dataclasses.dataclass(frozen=True, slots=True)
class ShowcaseGuild:
    """The guild the showcase runs in, as ``GET /_sim/guilds/{id}`` describes it."""

    guild_id: int
    admin_id: int
    """The member who runs the admin commands (the simulator gives members every permission)."""
    rules_channel_id: int
    """Where the rules message goes (the first text channel)."""
    menu_channel_id: int
    """Where the role menu goes (the second text channel, else the first)."""
    pickers: tuple[int, ...]
    """Members who pick roles (every member but the bot and the admin)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ShowcaseRoles:
    """The roles the showcase created."""

    pre_member_id: int
    member_id: int
    self_role_ids: tuple[int, ...]
    """The role menu's roles."""


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """What the bot answered an interaction with."""

    text: str
    """The message's content, else its first embed's description ("" for a modal)."""
    message: Mapping[str, Any] | None
    """The answer's message (original, else the last follow-up); None for a modal."""
    modal_custom_id: str | None = None
    """The custom_id of the modal the bot opened (None when it answered a message)."""

    def custom_ids(self) -> list[str]:
        """Return the custom_ids of the message's components, in order."""
        return [] if self.message is None else _custom_ids(self.message.get("components") or [])


@dataclasses.dataclass(frozen=True, slots=True)
class MenuMessage:
    """The posted role menu: its message, its select and the values it offers."""

    message_id: int
    custom_id: str
    values: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class CommunityFigures:
    """What the showcase's members did, as the simulator saw the bot answer them."""

    joined: int = 0
    """Members who joined (pending screening)."""
    agreed: int = 0
    """"I agree" presses the bot answered."""
    with_member_role: int = 0
    """Of those, members the simulator shows holding the Member role afterwards."""
    picks: int = 0
    """Role menu choices the bot answered."""


def showcase_guild(state: Mapping[str, Any]) -> ShowcaseGuild:
    """Read ``GET /_sim/guilds/{id}`` into the showcase's guild.

    Raises:
        ValueError: when the guild has no text channel or no member but the bot.
    """
    bot_ids = {
        int(tags["bot_id"])
        for role in state["roles"]
        if (tags := role.get("tags") or {}).get("bot_id")
    }
    members = sorted(int(user) for user in state["members"] if int(user) not in bot_ids)
    texts = sorted(
        (c for c in state["channels"] if c["type"] == _GUILD_TEXT),
        key=lambda c: (c.get("position", 0), int(c["id"])),
    )
    if not texts or not members:
        raise ValueError("the guild needs a text channel and a member besides the bot")
    rules, menus = int(texts[0]["id"]), int(texts[min(1, len(texts) - 1)]["id"])
    return ShowcaseGuild(int(state["id"]), members[0], rules, menus, tuple(members[1:]))


def _option(kind: int, name: str, value: str | int) -> dict[str, Any]:
    return {"type": kind, "name": name, "value": value}


def _command(
    guild: ShowcaseGuild, name: str, sub: str, options: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "command",
        "guild_id": str(guild.guild_id),
        "channel_id": str(guild.rules_channel_id),
        "user_id": str(guild.admin_id),
        "name": name,
        "options": [{"type": _SUBCOMMAND, "name": sub, "options": list(options)}],
    }


def setup_command(guild: ShowcaseGuild, roles: ShowcaseRoles) -> dict[str, Any]:
    """Return ``/onboarding setup`` picking the showcase's roles and rules channel."""
    return _command(
        guild,
        "onboarding",
        "setup",
        [
            _option(_ROLE, "pre_member_role", str(roles.pre_member_id)),
            _option(_ROLE, "member_role", str(roles.member_id)),
            _option(_CHANNEL, "rules_channel", str(guild.rules_channel_id)),
        ],
    )


def onboarding_command(guild: ShowcaseGuild, sub: str) -> dict[str, Any]:
    """Return ``/onboarding <sub>`` without options (``rules``, ``post``)."""
    return _command(guild, "onboarding", sub, [])


def allow_roles_command(guild: ShowcaseGuild, roles: ShowcaseRoles) -> dict[str, Any]:
    """Return ``/settings set`` putting the self roles on the role menus' allow-list."""
    mentions = " ".join(f"<@&{role_id}>" for role_id in roles.self_role_ids)
    return _command(
        guild,
        "settings",
        "set",
        [
            _option(_STRING, "module", "rolemenus"),
            _option(_STRING, "field", "allowed_role_ids"),
            _option(_STRING, "value", mentions),
        ],
    )


def create_menu_command(guild: ShowcaseGuild) -> dict[str, Any]:
    """Return ``/rolemenu create``: a select of several colours, at most two."""
    return _command(
        guild,
        "rolemenu",
        "create",
        [
            _option(_STRING, "title", MENU_TITLE),
            _option(_STRING, "kind", "select"),
            _option(_STRING, "mode", "multiple"),
            _option(_INTEGER, "max", MENU_MAX_PICKS),
        ],
    )


def add_role_command(guild: ShowcaseGuild, menu_id: int, role_id: int) -> dict[str, Any]:
    """Return ``/rolemenu add`` putting ``role_id`` on menu ``menu_id``."""
    return _command(
        guild,
        "rolemenu",
        "add",
        [_option(_INTEGER, "menu", menu_id), _option(_STRING, "role", f"<@&{role_id}>")],
    )


def post_menu_command(guild: ShowcaseGuild, menu_id: int) -> dict[str, Any]:
    """Return ``/rolemenu post`` of menu ``menu_id`` in the menu channel."""
    return _command(
        guild,
        "rolemenu",
        "post",
        [
            _option(_INTEGER, "menu", menu_id),
            _option(_CHANNEL, "channel", str(guild.menu_channel_id)),
        ],
    )


def click_body(
    guild: ShowcaseGuild,
    *,
    channel_id: int,
    user_id: int,
    message_id: int | None,
    custom_id: str,
    values: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Return a member's click on a component the bot posted (a select with ``values``)."""
    body: dict[str, Any] = {
        "type": "component",
        "guild_id": str(guild.guild_id),
        "channel_id": str(channel_id),
        "user_id": str(user_id),
        "custom_id": custom_id,
        "component_type": "button" if values is None else "string_select",
    }
    if message_id is not None:
        body["message_id"] = str(message_id)
    if values is not None:
        body["values"] = list(values)
    return body


def modal_body(guild: ShowcaseGuild, custom_id: str, text: str) -> dict[str, Any]:
    """Return the admin's submit of the rules modal ``custom_id`` holding ``text``."""
    return {
        "type": "modal",
        "guild_id": str(guild.guild_id),
        "channel_id": str(guild.rules_channel_id),
        "user_id": str(guild.admin_id),
        "custom_id": custom_id,
        "components": [
            {
                "type": 1,
                "id": 1,
                "components": [
                    {"type": _TEXT_INPUT, "id": 2, "custom_id": _RULES_INPUT, "value": text}
                ],
            }
        ],
    }


def reply_of(state: Mapping[str, Any]) -> Reply | None:
    """Read ``GET /_sim/interactions/{id}`` into the bot's reply; None while there is none.

    A deferral is no reply yet: the message that follows it is.
    """
    if state.get("response_type") == _MODAL:
        data = (state.get("response") or {}).get("data") or {}
        custom_id = data.get("custom_id")
        return Reply("", None, str(custom_id)) if isinstance(custom_id, str) else None
    followups = state.get("followups") or []
    message = followups[-1] if followups else state.get("original")
    if not message:
        return None
    content = message.get("content") or ""
    if not content and message.get("embeds"):
        content = message["embeds"][0].get("description") or ""
    if not content and not message.get("components"):
        return None  # a deferral's placeholder
    return Reply(str(content), message)


def _components(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for row in rows:
        found += list(row.get("components") or [])
    return found


def _custom_ids(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(c["custom_id"]) for c in _components(rows) if c.get("custom_id")]


def rules_agree_button(messages: Iterable[Mapping[str, Any]]) -> tuple[int, str] | None:
    """Return the latest rules message's id and its "I agree" custom_id (None: not posted)."""
    found = None
    for message in messages:
        for component in _components(message.get("components") or []):
            if component.get("type") == _BUTTON and component.get("label") == _AGREE_LABEL:
                found = int(message["id"]), str(component["custom_id"])
    return found


def menu_message(messages: Iterable[Mapping[str, Any]]) -> MenuMessage | None:
    """Return the latest message with a string select titled :data:`MENU_TITLE`."""
    found = None
    for message in messages:
        titles = [embed.get("title") for embed in message.get("embeds") or []]
        if MENU_TITLE not in titles:
            continue
        for component in _components(message.get("components") or []):
            if component.get("type") == _STRING_SELECT and component.get("options"):
                values = tuple(str(option["value"]) for option in component["options"])
                found = MenuMessage(int(message["id"]), str(component["custom_id"]), values)
    return found


def menu_id_in(text: str) -> int | None:
    """Return the menu id of ``/rolemenu create``'s answer (None when it was refused)."""
    match = _MENU_ID.search(text)
    return None if match is None else int(match.group(1))


def picked_values(values: Sequence[str], turn: int) -> tuple[str, ...]:
    """Return the choice of pick number ``turn``: one or two colours, in rotation."""
    if not values:
        return ()
    count = 1 + turn % min(MENU_MAX_PICKS, len(values))
    return tuple(values[(turn + offset) % len(values)] for offset in range(count))


def due_now(*, rate_per_s: float, elapsed_s: float, done: int) -> int:
    """Return how many to do now so that ``rate_per_s`` holds since the start."""
    if rate_per_s <= 0 or not math.isfinite(rate_per_s):
        return 0
    return max(0, math.floor(rate_per_s * max(0.0, elapsed_s)) - done)


def member_edits_per_s(*, joins_per_s: float, picks_per_s: float) -> float:
    """Return the member edits per second the showcase costs the bot in its guild.

    A joiner costs two (Pre-Member after screening, then Member for "I agree"), a pick one
    (a choice that changes nothing costs none: this is the most).
    """
    return 2 * joins_per_s + picks_per_s


def is_within_member_edit_limit(*, joins_per_s: float, picks_per_s: float) -> bool:
    """Return whether the pace stays under Discord's member edits a guild (10 per 10 s)."""
    edits = member_edits_per_s(joins_per_s=joins_per_s, picks_per_s=picks_per_s)
    return edits <= MEMBER_EDITS_PER_S


def community_parts(figures: CommunityFigures) -> tuple[str, str]:
    """Return the status's two texts: onboarding, and role menus."""
    onboarding = (
        f"{figures.joined:,} joined, {figures.agreed:,} agreed "
        f"({figures.with_member_role:,} with Member role)"
    )
    return onboarding, f"{figures.picks:,} picks"
