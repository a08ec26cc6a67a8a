"""A role menu as Discord shows it: the posted message's embed and components. No I/O.

Owns how a :class:`~shoal.features.rolemenus.rules.RoleMenu` becomes an embed (title and
:func:`~shoal.features.rolemenus.texts.menu_hint`) and components: one select whose
custom_id carries the menu id (``rm:1:<menu>``) with an option per enabled role (value:
the role id; a disabled option is left out and the bounds clamped to what is left, by
`shoal.features.rolemenus.rules.select_bounds`), or one button per role in rows of five
(``rm:1:<menu>:<role>``; a disabled option's button is greyed out). Every argument is in
the custom_id, so the message works on any worker after any restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import hikari

from shoal.features.rolemenus.components import (
    CUSTOM_ID_PREFIX,
    CUSTOM_ID_VERSION,
    button_arguments,
    select_arguments,
)
from shoal.features.rolemenus.rules import MenuKind, button_rows, select_bounds
from shoal.features.rolemenus.texts import menu_hint
from shoal.interactions.custom_ids import encode

if TYPE_CHECKING:
    from shoal.features.rolemenus.rules import MenuOption, RoleMenu

__all__ = ["button_custom_id", "menu_components", "menu_embed", "select_custom_id"]

_COLOUR: Final = 0x5865F2
_PLACEHOLDER: Final = "Choose your roles"


def select_custom_id(menu_id: int) -> str:
    """Return the custom_id of menu ``menu_id``'s select."""
    return encode(CUSTOM_ID_PREFIX, CUSTOM_ID_VERSION, *select_arguments(menu_id))


def button_custom_id(menu_id: int, role_id: int) -> str:
    """Return the custom_id of ``role_id``'s button on menu ``menu_id``."""
    return encode(CUSTOM_ID_PREFIX, CUSTOM_ID_VERSION, *button_arguments(menu_id, role_id))


def menu_embed(menu: RoleMenu) -> hikari.Embed:
    """Return the posted message's embed."""
    return hikari.Embed(title=menu.spec.title, description=menu_hint(menu.spec), colour=_COLOUR)


def menu_components(menu: RoleMenu) -> list[hikari.api.ComponentBuilder]:
    """Return the posted message's rows (none when no option is left to choose)."""
    if menu.spec.kind is MenuKind.SELECT:
        return _select_rows(menu)
    return _button_rows(menu)


def _select_rows(menu: RoleMenu) -> list[hikari.api.ComponentBuilder]:
    bounds = select_bounds(menu)
    if bounds is None:
        return []
    least, most = bounds
    row = hikari.impl.MessageActionRowBuilder()
    select = row.add_text_menu(
        select_custom_id(menu.menu_id),
        placeholder=_PLACEHOLDER,
        min_values=least,
        max_values=most,
    )
    for option in menu.spec.options:
        if option.is_disabled:
            continue
        select.add_option(
            option.label,
            str(option.role_id),
            description=hikari.UNDEFINED if option.description is None else option.description,
            emoji=_emoji(option),
        )
    return [row]


def _button_rows(menu: RoleMenu) -> list[hikari.api.ComponentBuilder]:
    rows: list[hikari.api.ComponentBuilder] = []
    for options in button_rows(menu):
        row = hikari.impl.MessageActionRowBuilder()
        for option in options:
            row.add_interactive_button(
                hikari.ButtonStyle.SECONDARY,
                button_custom_id(menu.menu_id, option.role_id),
                label=option.label,
                emoji=_emoji(option),
                is_disabled=option.is_disabled,
            )
        rows.append(row)
    return rows


def _emoji(option: MenuOption) -> hikari.Emoji | hikari.UndefinedType:
    return hikari.UNDEFINED if option.emoji is None else hikari.Emoji.parse(option.emoji)
