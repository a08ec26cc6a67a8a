"""The persistent components of a posted role menu, and the arguments each one carries.

Owns what a menu component's stateless custom_id must say after the route prefix
(:data:`CUSTOM_ID_PREFIX`, layout :data:`CUSTOM_ID_VERSION`) so that a menu posted long
ago works on any pod after any restart: a menu's select carries ``(<menu id>,)``
(``rm:1:42``); a role's button carries ``(<menu id>, <role id>)``. Everything else (the
menu's roles and mode) is read from storage when the member chooses, scoped to the
interaction's guild. Parsing never trusts the text: anything malformed is None. Pure.
Does not own the codec or the router (built in `shoal.interactions`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CUSTOM_ID_PREFIX",
    "CUSTOM_ID_VERSION",
    "MenuButton",
    "MenuSelect",
    "button_arguments",
    "parse_arguments",
    "select_arguments",
]

CUSTOM_ID_PREFIX: Final = "rm"
CUSTOM_ID_VERSION: Final = 1
_ID_MAX: Final = 2**63 - 1  # bigint columns and snowflakes


@dataclasses.dataclass(frozen=True, slots=True)
class MenuSelect:
    """A menu's select."""

    menu_id: int
    """The menu."""


@dataclasses.dataclass(frozen=True, slots=True)
class MenuButton:
    """One role's button on a menu."""

    menu_id: int
    """The menu."""
    role_id: int
    """The role the button toggles."""


def select_arguments(menu_id: int) -> tuple[str]:
    """Return the custom_id arguments of menu ``menu_id``'s select."""
    return (str(_checked(menu_id, "menu_id")),)


def button_arguments(menu_id: int, role_id: int) -> tuple[str, str]:
    """Return the custom_id arguments of ``role_id``'s button on menu ``menu_id``."""
    return str(_checked(menu_id, "menu_id")), str(_checked(role_id, "role_id"))


def parse_arguments(args: Sequence[str]) -> MenuSelect | MenuButton | None:
    """Return the component ``args`` stand for, or None when they are not one of ours."""
    match [_parsed(arg) for arg in args]:
        case [int(menu_id)]:
            return MenuSelect(menu_id)
        case [int(menu_id), int(role_id)]:
            return MenuButton(menu_id, role_id)
        case _:
            return None


def _checked(value: int, name: str) -> int:
    if not 0 < value <= _ID_MAX:
        raise ValueError(f"{name} must be a positive 64-bit id, got {value}")
    return value


def _parsed(arg: str) -> int | None:
    if not (arg.isascii() and arg.isdigit()) or len(arg) > 19:  # noqa: PLR2004 - 2**63 has 19 digits
        return None
    value = int(arg)
    return value if 0 < value <= _ID_MAX else None
