"""The persistent components of the rules message, and the arguments each one carries.

Owns what a rules-message button's stateless custom_id must say after the route prefix
(:data:`CUSTOM_ID_PREFIX`, layout :data:`CUSTOM_ID_VERSION`) so that a button posted long
ago works on any pod after any restart: "View rules" carries ``("view",)``; "I agree"
carries ``("agree", <rules version>)``, e.g. ``onb:1:agree:3``. Parsing never trusts the
text: anything malformed is None. Pure. Does not own the codec or the router (built in
`shoal.interactions`) nor what a press does (`shoal.features.onboarding.rules`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CUSTOM_ID_PREFIX",
    "CUSTOM_ID_VERSION",
    "AgreeButton",
    "ViewRulesButton",
    "agree_arguments",
    "parse_arguments",
    "view_arguments",
]

CUSTOM_ID_PREFIX: Final = "onb"
CUSTOM_ID_VERSION: Final = 1
_VIEW: Final = "view"
_AGREE: Final = "agree"
_VERSION_MAX: Final = 2**31 - 1  # the column is a PostgreSQL integer


@dataclasses.dataclass(frozen=True, slots=True)
class ViewRulesButton:
    """The "View rules" button: shows the rules ephemerally."""


@dataclasses.dataclass(frozen=True, slots=True)
class AgreeButton:
    """The "I agree" button of one rules version."""

    rules_version: int
    """The rules version the message showed when it was posted or last edited."""


def view_arguments() -> tuple[str]:
    """Return the custom_id arguments of "View rules"."""
    return (_VIEW,)


def agree_arguments(rules_version: int) -> tuple[str, str]:
    """Return the custom_id arguments of "I agree" for ``rules_version`` (1 or more)."""
    if not 1 <= rules_version <= _VERSION_MAX:
        raise ValueError(f"rules_version must be 1 to {_VERSION_MAX}, got {rules_version}")
    return _AGREE, str(rules_version)


def parse_arguments(args: Sequence[str]) -> ViewRulesButton | AgreeButton | None:
    """Return the button ``args`` stand for, or None when they are not one of ours."""
    if tuple(args) == (_VIEW,):
        return ViewRulesButton()
    if len(args) == 2 and args[0] == _AGREE and args[1].isascii() and args[1].isdigit():  # noqa: PLR2004 - name and version
        version = int(args[1])
        if 1 <= version <= _VERSION_MAX:
            return AgreeButton(version)
    return None
