"""What the role menu commands say, and how an admin names a role in them. Pure.

Owns the wording of the posted menu (its embed's hint), of ``/rolemenu list`` and of the
admin replies, and :func:`role_reference`: the role an admin meant by an option's text (an
autocomplete suggestion's id, a mention, an id, or a name). The decisions themselves are
`shoal.features.rolemenus.rules`'; building Discord components is
`shoal.features.rolemenus.rendering`'.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from shoal.features.rolemenus.rules import LABEL_MAX, GroupMode, MenuKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from shoal.features.rolemenus.rules import MenuSpec, RoleMenu
    from shoal.kit.roles import RoleFacts

__all__ = [
    "ALLOW_LIST_HINT",
    "MAX_REPLY_CHARS",
    "default_label",
    "menu_hint",
    "menu_line",
    "menus_overview",
    "role_reference",
    "with_alerts",
]

#: Discord's limit for a message's content.
MAX_REPLY_CHARS: Final = 2000
#: How an admin puts roles on the allow-list (the generic ``/settings`` command).
ALLOW_LIST_HINT: Final = (
    "Allow roles with `/settings set module:rolemenus field:allowed_role_ids "
    "value:@Role1 @Role2` (the whole list)."
)
_ROLE_MENTION: Final = re.compile(r"<@&([0-9]{1,20})>")
_ID: Final = re.compile(r"[0-9]{1,20}")
_ALERTS_TITLE: Final = "**For the admins:**"


def role_reference(text: str, roles: Mapping[int, RoleFacts]) -> int | None:
    """Return the role ``text`` names: an id or mention (even of a deleted role), or a name.

    An autocomplete suggestion sends the role's id; an admin who typed instead may give a
    mention, an id, or the role's name (case-insensitive, ``@`` optional; None when no
    role or several share it).
    """
    stripped = text.strip()
    if match := _ROLE_MENTION.fullmatch(stripped):
        return int(match.group(1))
    if _ID.fullmatch(stripped):
        return int(stripped)
    wanted = stripped.removeprefix("@").casefold()
    found = [role.id for role in roles.values() if role.name.casefold() == wanted]
    return found[0] if len(found) == 1 else None


def default_label(role: RoleFacts) -> str:
    """Return an option's label when the admin gives none: the role's name, cut to fit."""
    return role.name[:LABEL_MAX]


def menu_hint(spec: MenuSpec) -> str:
    """Return the line under a posted menu's title: what members may pick and how."""
    if spec.mode is GroupMode.SINGLE:
        pick = "Pick one role" if spec.min_values else "Pick one role, or none"
        how = (
            "choosing another switches to it."
            if spec.kind is MenuKind.SELECT
            else "press another to switch."
        )
        return f"{pick}: {how}"
    most = spec.most
    if spec.min_values and spec.min_values == most:
        count = f"exactly {most}"
    elif spec.min_values:
        count = f"{spec.min_values} to {most}"
    else:
        count = f"up to {most}"
    if spec.kind is MenuKind.SELECT:
        return f"Pick {count} of these roles: your choice replaces the roles you had from it."
    return f"Have {count} of these roles: press a button to take or drop its role."


def menu_line(menu: RoleMenu) -> str:
    """Return one ``/rolemenu list`` line: id, title, shape, roles, where it is posted."""
    spec = menu.spec
    disabled = sum(option.is_disabled for option in spec.options)
    roles = f"{len(spec.options)} role{'' if len(spec.options) == 1 else 's'}"
    if disabled:
        roles += f" ({disabled} disabled: role deleted)"
    where = "not posted" if menu.channel_id is None else f"posted in <#{menu.channel_id}>"
    bounds = ""
    if spec.mode is GroupMode.MULTIPLE and (spec.min_values or spec.max_values is not None):
        bounds = f", {spec.min_values} to {spec.most}"
    return (
        f"`{menu.menu_id}` **{spec.title}**: {spec.kind.value}, {spec.mode.value}{bounds}; "
        f"{roles}; {where}"
    )


def menus_overview(menus: Sequence[RoleMenu], *, max_menus: int) -> str:
    """Return ``/rolemenu list``'s text (one line per menu, the guild's cap at the end)."""
    if not menus:
        return (
            "No role menus yet. Create one with `/rolemenu create`, add roles with "
            "`/rolemenu add`, then `/rolemenu post` it."
        )
    lines = [menu_line(menu) for menu in menus]
    lines.append(f"{len(menus)} of {max_menus} menus.")
    return _fitted(lines)


def with_alerts(text: str, alerts: Iterable[str]) -> str:
    """Return ``text`` followed by the alerts waiting for the admins (cut to Discord's limit)."""
    waiting = list(alerts)
    if not waiting:
        return text
    return _fitted([text, "", _ALERTS_TITLE, *(f"- {alert}" for alert in waiting)])


def _fitted(lines: Sequence[str]) -> str:
    text = "\n".join(lines)
    if len(text) <= MAX_REPLY_CHARS:
        return text
    return text[: MAX_REPLY_CHARS - 1] + "…"
