"""What role menus decide and say: menu validation, selections, button toggles. Pure.

Owns the menu model (:class:`MenuSpec` as an admin configures it, :class:`RoleMenu` as
stored), its validation (Discord's limits, the group's bounds, duplicates, then each
role against the allow-list and `shoal.kit.roles.self_role_refusal`), and the decision
for a member's choice: :func:`selection_change` for a select menu, :func:`button_change`
for a button. Both return a :class:`SelectionOutcome` whose :attr:`~SelectionOutcome.role_ids`
is the member's full role list for one PATCH (or None: no REST call at all).

Semantics: a select sets the member's roles of the menu to exactly what they chose (a
posted message shows no one's current roles, so the choice is the whole answer; with a
minimum of 0, choosing nothing clears them). A button toggles its role: in single mode
taking one removes the menu's others. Every role to add or remove is checked again just
before (it may have become dangerous, moved above the bot, or left the allow-list); a
refused role is neither added nor removed, and the rest goes on. A role that no longer
exists disables its option (:attr:`SelectionOutcome.deleted_role_ids`, for the caller to
store with `~shoal.features.rolemenus.repository.PostgresRoleMenusRepository.disable_role`
and tell admins); the menu keeps working for the other roles.

Does not own storage, settings or the components' arguments (sibling modules).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import TYPE_CHECKING, Final

from shoal.kit.roles import (
    RoleFacts,
    everyone_permissions,
    member_roles_after,
    self_role_refusal,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from shoal.features.rolemenus.settings import RoleMenusSettings

__all__ = [
    "BUTTONS_PER_ROW",
    "DESCRIPTION_MAX",
    "LABEL_MAX",
    "MAX_OPTIONS",
    "TITLE_MAX",
    "GroupMode",
    "MenuKind",
    "MenuOption",
    "MenuSpec",
    "RefusedRole",
    "RoleMenu",
    "SelectionOutcome",
    "button_change",
    "button_rows",
    "deleted_roles",
    "deleted_roles_alert",
    "is_emoji",
    "menu_problems",
    "role_problems",
    "select_bounds",
    "selection_change",
]

#: Discord's limits: a select holds 25 options; a message 5 rows of 5 buttons.
MAX_OPTIONS: Final = 25
BUTTONS_PER_ROW: Final = 5
#: A button's label holds 80 characters (a select option's 100: the smaller one for both).
LABEL_MAX: Final = 80
#: A select option's description.
DESCRIPTION_MAX: Final = 100
#: The menu's title, shown as the message's embed title.
TITLE_MAX: Final = 256
#: A custom emoji as Discord writes it (``<:name:id>``, ``<a:name:id>`` when animated).
_CUSTOM_EMOJI: Final = re.compile(r"<a?:[A-Za-z0-9_]{2,32}:[0-9]{1,20}>")
#: The keycaps (1️⃣, #️⃣), the only emoji that start with an ASCII character.
_KEYCAP_EMOJI: Final = re.compile("[0-9#*]\ufe0f?\u20e3")
#: The longest unicode emoji sequences (families, flags with tags) are about ten code points.
_UNICODE_EMOJI_MAX: Final = 16

_NOT_ON_MENU_TEXT: Final = "That role is no longer on this menu: nothing changed."
_DELETED_TEXT: Final = (
    "A role on this menu no longer exists, so it cannot be given; the rest of the menu still works."
)
_NO_CHANGE_TEXT: Final = "Nothing to change: you already have these roles."


class MenuKind(enum.StrEnum):
    """How the menu's options are shown."""

    SELECT = "select"
    """One select menu (a dropdown) of up to 25 options."""
    BUTTONS = "buttons"
    """Up to 25 buttons, in rows of 5."""


class GroupMode(enum.StrEnum):
    """How the menu's roles combine."""

    SINGLE = "single"
    """At most one role of the menu: choosing one removes the others."""
    MULTIPLE = "multiple"
    """Any number between the menu's minimum and maximum."""


@dataclasses.dataclass(frozen=True, slots=True)
class MenuOption:
    """One role on a menu."""

    role_id: int
    """The role it gives (a select option's value)."""
    label: str
    """What members read (1 to :data:`LABEL_MAX` characters)."""
    description: str | None = None
    """A select option's line under the label (selects only)."""
    emoji: str | None = None
    """A unicode emoji, or a custom one as ``<:name:id>``."""
    is_disabled: bool = False
    """Its role was deleted: shown disabled (or left out of a select), never given."""


@dataclasses.dataclass(frozen=True, slots=True)
class MenuSpec:
    """A menu as an admin configures it."""

    title: str
    """The message's title (1 to :data:`TITLE_MAX` characters)."""
    kind: MenuKind
    """Select or buttons."""
    mode: GroupMode
    """Single or multiple."""
    options: tuple[MenuOption, ...]
    """The roles, in the order shown (1 to :data:`MAX_OPTIONS`)."""
    min_values: int = 0
    """The fewest of the menu's roles a member may keep (0: they may drop them all)."""
    max_values: int | None = None
    """The most a member may hold; None: all of them (single mode: 1)."""

    @property
    def most(self) -> int:
        """The effective maximum: 1 in single mode, else ``max_values`` or every option."""
        if self.mode is GroupMode.SINGLE:
            return 1
        return len(self.options) if self.max_values is None else self.max_values


@dataclasses.dataclass(frozen=True, slots=True)
class RoleMenu:
    """A stored menu."""

    menu_id: int
    """Its id (a select's custom_id carries it)."""
    guild_id: int
    """The guild it belongs to."""
    spec: MenuSpec
    """What it offers."""
    channel_id: int | None = None
    """The channel of its posted message, if posted."""
    message_id: int | None = None
    """Its posted message, if posted."""

    def enabled_role_ids(self) -> tuple[int, ...]:
        """Return the roles of options not disabled, in the menu's order."""
        return tuple(option.role_id for option in self.spec.options if not option.is_disabled)


@dataclasses.dataclass(frozen=True, slots=True)
class RefusedRole:
    """A role a member asked for (or to drop) that was refused, and why."""

    role_id: int
    """The role."""
    message: str
    """Why, for an admin (names the role and what to do)."""


@dataclasses.dataclass(frozen=True, slots=True)
class SelectionOutcome:
    """What a member's choice on a menu does."""

    role_ids: tuple[int, ...] | None
    """The member's full role list for one PATCH, or None: send nothing."""
    added: tuple[int, ...]
    """Roles given."""
    removed: tuple[int, ...]
    """Roles taken away."""
    refused: tuple[RefusedRole, ...]
    """Roles not changed because they are no longer safe or allowed (tell admins)."""
    deleted_role_ids: tuple[int, ...]
    """Options whose role no longer exists: disable them and tell admins."""
    reply: str
    """The ephemeral reply to the member."""


def menu_problems(spec: MenuSpec, *, is_draft: bool = False) -> tuple[str, ...]:
    """Return what is wrong with ``spec``'s shape, for an admin (empty: nothing).

    Checks the title, the option count, labels, descriptions, emoji, duplicate roles and
    labels, and the group's bounds. Roles themselves are :func:`role_problems`.

    Args:
        spec: The menu.
        is_draft: A menu being built (stored, not yet posted): it may have no role yet,
            and its maximum is checked against Discord's 25 instead of its roles, since
            ``/rolemenu create`` sets the bounds before ``/rolemenu add`` adds the roles.
            A menu to post is checked with ``is_draft`` False.
    """
    problems: list[str] = []
    if not spec.title.strip() or len(spec.title) > TITLE_MAX:
        problems.append(f"The title must have 1 to {TITLE_MAX} characters.")
    count = len(spec.options)
    if count > MAX_OPTIONS or (count == 0 and not is_draft):
        problems.append(f"A menu has 1 to {MAX_OPTIONS} roles; this one has {count}.")
    problems.extend(_option_problems(spec))
    problems.extend(_bounds_problems(spec, is_draft=is_draft))
    return tuple(problems)


def role_problems(
    spec: MenuSpec,
    settings: RoleMenusSettings,
    roles: Mapping[int, RoleFacts],
    *,
    bot_top: RoleFacts | None,
    bot_permissions: int,
) -> tuple[str, ...]:
    """Return why roles of ``spec`` may not be on a menu, for an admin (empty: none).

    Disabled options (their role was deleted) are not checked: they are never given.

    Args:
        spec: The menu.
        settings: The guild's settings (the allow-list).
        roles: The guild's roles by id, now.
        bot_top: The bot's highest role (`shoal.kit.roles.top_position`).
        bot_permissions: The bot's guild permissions (`shoal.kit.roles.combined_permissions`).
    """
    problems: list[str] = []
    for option in spec.options:
        if option.is_disabled:
            continue
        refusal = _refusal(option.role_id, settings, roles, bot_top, bot_permissions)
        if refusal is not None:
            problems.append(refusal)
    return tuple(problems)


def selection_change(
    menu: RoleMenu,
    member_role_ids: Iterable[int],
    chosen_role_ids: Collection[int],
    roles: Mapping[int, RoleFacts],
    settings: RoleMenusSettings,
    *,
    bot_top: RoleFacts | None,
    bot_permissions: int,
) -> SelectionOutcome:
    """Return what choosing ``chosen_role_ids`` in ``menu``'s select does for a member.

    The member's roles of the menu become exactly the chosen ones; values that are not
    enabled options (a forged or outdated custom_id or option) are ignored.

    Args:
        menu: The menu (from its custom_id's menu id, read for the interaction's guild).
        member_role_ids: The member's roles now (the interaction's member).
        chosen_role_ids: The select's values, as role ids.
        roles: The guild's roles by id, now.
        settings: The guild's settings (the allow-list).
        bot_top: The bot's highest role.
        bot_permissions: The bot's guild permissions.
    """
    current = tuple(member_role_ids)
    usable, deleted = _usable(menu, roles)
    held = set(current) & usable
    desired = set(chosen_role_ids) & usable
    if len(desired) > menu.spec.most:
        return _unchanged(f"You can pick at most {menu.spec.most} of these roles.", deleted)
    if len(desired) < menu.spec.min_values:
        text = (
            _DELETED_TEXT
            if set(chosen_role_ids) & set(deleted)
            else (f"Pick at least {menu.spec.min_values} of these roles.")
        )
        return _unchanged(text, deleted)
    return _outcome(current, held, desired, roles, settings, bot_top, bot_permissions, deleted)


def button_change(
    menu: RoleMenu,
    member_role_ids: Iterable[int],
    role_id: int,
    roles: Mapping[int, RoleFacts],
    settings: RoleMenusSettings,
    *,
    bot_top: RoleFacts | None,
    bot_permissions: int,
) -> SelectionOutcome:
    """Return what pressing ``role_id``'s button on ``menu`` does for a member: a toggle.

    Held: the role is removed, unless that leaves fewer than the menu's minimum. Not
    held: it is added; in single mode the menu's other roles go, in multiple mode the
    menu's maximum must not be passed.
    """
    current = tuple(member_role_ids)
    usable, deleted = _usable(menu, roles)
    if role_id not in usable:
        on_menu = any(option.role_id == role_id for option in menu.spec.options)
        return _unchanged(_DELETED_TEXT if on_menu else _NOT_ON_MENU_TEXT, deleted)
    held = set(current) & usable
    spec = menu.spec
    if role_id in held:
        desired = held - {role_id}
        if len(desired) < spec.min_values:
            if spec.mode is GroupMode.SINGLE:
                return _unchanged(
                    "You must keep one of these roles: press another to switch.", deleted
                )
            return _unchanged(f"You must keep at least {spec.min_values} of these roles.", deleted)
    elif spec.mode is GroupMode.SINGLE:
        desired = {role_id}
    else:
        desired = held | {role_id}
        if len(desired) > spec.most:
            return _unchanged(
                f"You can have at most {spec.most} of these roles: remove one first.", deleted
            )
    return _outcome(current, held, desired, roles, settings, bot_top, bot_permissions, deleted)


def deleted_roles(menu: RoleMenu, live_role_ids: Collection[int]) -> tuple[int, ...]:
    """Return the roles of ``menu``'s enabled options that no longer exist in the guild."""
    return tuple(role_id for role_id in menu.enabled_role_ids() if role_id not in live_role_ids)


def deleted_roles_alert(menu: RoleMenu, role_ids: Collection[int]) -> str:
    """Return the message telling admins that deleted roles disabled options of ``menu``."""
    labels = ", ".join(
        f'"{option.label}"' for option in menu.spec.options if option.role_id in role_ids
    )
    return (
        f'Role menu "{menu.spec.title}" (id {menu.menu_id}): the role of {labels} was deleted, '
        "so that option is disabled; the rest of the menu still works. Edit the menu to "
        "replace it."
    )


def select_bounds(menu: RoleMenu) -> tuple[int, int] | None:
    """Return the select's ``(min_values, max_values)`` over its enabled options.

    Discord refuses a select whose bounds exceed its options, so both are clamped to the
    options left; None when none is left (post the menu without a select).
    """
    enabled = len(menu.enabled_role_ids())
    if enabled == 0:
        return None
    most = min(menu.spec.most, enabled)
    return min(menu.spec.min_values, most), most


def is_emoji(text: str) -> bool:
    """Return True when ``text`` looks like one emoji: ``<:name:id>``, or no ASCII at all.

    Discord checks a unicode emoji against its own list and refuses the whole message
    (50035) for a bad one; this only keeps out what is plainly not an emoji (words,
    mentions, spaces) so that a typo is caught when the option is added.
    """
    if _CUSTOM_EMOJI.fullmatch(text) or _KEYCAP_EMOJI.fullmatch(text):
        return True
    return 1 <= len(text) <= _UNICODE_EMOJI_MAX and not any(char.isascii() for char in text)


def button_rows(menu: RoleMenu) -> tuple[tuple[MenuOption, ...], ...]:
    """Return ``menu``'s options in rows of :data:`BUTTONS_PER_ROW`, disabled ones included."""
    options = menu.spec.options
    return tuple(
        options[start : start + BUTTONS_PER_ROW]
        for start in range(0, len(options), BUTTONS_PER_ROW)
    )


def _option_problems(spec: MenuSpec) -> list[str]:
    problems: list[str] = []
    seen_roles: set[int] = set()
    seen_labels: set[str] = set()
    for number, option in enumerate(spec.options, start=1):
        name = f'Option {number} ("{option.label[:LABEL_MAX]}")'
        if not option.label.strip() or len(option.label) > LABEL_MAX:
            problems.append(f"{name}: the label must have 1 to {LABEL_MAX} characters.")
        if option.description is not None:
            if spec.kind is MenuKind.BUTTONS:
                problems.append(f"{name}: buttons show no description: remove it, or use a select.")
            elif not option.description.strip() or len(option.description) > DESCRIPTION_MAX:
                problems.append(
                    f"{name}: the description must have 1 to {DESCRIPTION_MAX} characters."
                )
        if option.emoji is not None and not is_emoji(option.emoji):
            problems.append(
                f"{name}: the emoji is not valid: give one emoji, or a server emoji as <:name:id>."
            )
        if option.role_id in seen_roles:
            problems.append(f"{name}: its role <@&{option.role_id}> is on the menu twice.")
        if option.label.casefold() in seen_labels:
            problems.append(f"{name}: another option has the same label.")
        seen_roles.add(option.role_id)
        seen_labels.add(option.label.casefold())
    return problems


def _bounds_problems(spec: MenuSpec, *, is_draft: bool) -> list[str]:
    if spec.mode is GroupMode.SINGLE:
        problems = []
        if spec.max_values not in (None, 1):
            problems.append("A single-choice menu gives one role at most: leave the maximum at 1.")
        if spec.min_values not in (0, 1):
            problems.append("A single-choice menu's minimum is 0 or 1.")
        return problems
    if is_draft:  # the roles come later: only Discord's limit bounds the maximum
        most = MAX_OPTIONS if spec.max_values is None else spec.max_values
        if not 1 <= most <= MAX_OPTIONS:
            return [f"The maximum must be 1 to {MAX_OPTIONS}."]
    else:
        most = spec.most
        limit = min(len(spec.options), MAX_OPTIONS)
        if not 1 <= most <= limit:
            return [f"The maximum must be 1 to {limit} (the number of roles)."]
    if not 0 <= spec.min_values <= most:
        return [f"The minimum must be 0 to {most} (the maximum)."]
    return []


def _refusal(
    role_id: int,
    settings: RoleMenusSettings,
    roles: Mapping[int, RoleFacts],
    bot_top: RoleFacts | None,
    bot_permissions: int,
) -> str | None:
    role = roles.get(role_id)
    if role is None:
        return f"The role <@&{role_id}> no longer exists: pick another."
    if not settings.is_allowed(role_id):
        return (
            f"The role {role.label} is not on this server's allow-list of self-assignable "
            "roles: an admin must add it first."
        )
    refusal = self_role_refusal(
        role,
        bot_top=bot_top,
        bot_permissions=bot_permissions,
        everyone=everyone_permissions(roles.values()),
    )
    return None if refusal is None else refusal.message


def _usable(menu: RoleMenu, roles: Mapping[int, RoleFacts]) -> tuple[set[int], tuple[int, ...]]:
    enabled = menu.enabled_role_ids()
    deleted = tuple(role_id for role_id in enabled if role_id not in roles)
    return {role_id for role_id in enabled if role_id in roles}, deleted


def _outcome(
    current: tuple[int, ...],
    held: set[int],
    desired: set[int],
    roles: Mapping[int, RoleFacts],
    settings: RoleMenusSettings,
    bot_top: RoleFacts | None,
    bot_permissions: int,
    deleted: tuple[int, ...],
) -> SelectionOutcome:
    refused: list[RefusedRole] = []
    adding: list[int] = []
    removing: list[int] = []
    for role_ids, accepted in (
        (sorted(desired - held), adding),
        (sorted(held - desired), removing),
    ):
        for role_id in role_ids:
            reason = _refusal(role_id, settings, roles, bot_top, bot_permissions)
            if reason is None:
                accepted.append(role_id)
            else:
                refused.append(RefusedRole(role_id, reason))
    after = member_roles_after(current, add=adding, remove=removing)
    return SelectionOutcome(
        role_ids=after,
        added=tuple(adding),
        removed=tuple(removing),
        refused=tuple(refused),
        deleted_role_ids=deleted,
        reply=_reply(adding, removing, refused, deleted),
    )


def _unchanged(reply: str, deleted: tuple[int, ...]) -> SelectionOutcome:
    return SelectionOutcome(None, (), (), (), deleted, reply)


def _reply(
    added: list[int], removed: list[int], refused: list[RefusedRole], deleted: tuple[int, ...]
) -> str:
    lines: list[str] = []
    if added:
        lines.append(f"Added {_mentions(added)}.")
    if removed:
        lines.append(f"Removed {_mentions(removed)}.")
    if refused:
        lines.append(
            f"I could not change {_mentions(r.role_id for r in refused)}: ask the server's "
            "admins to check this menu."
        )
    if deleted:
        lines.append(_DELETED_TEXT)
    return " ".join(lines) if lines else _NO_CHANGE_TEXT


def _mentions(role_ids: Iterable[int]) -> str:
    return ", ".join(f"<@&{role_id}>" for role_id in role_ids)
