"""The persistent components of the rules message, and the arguments each one carries.

Owns what a rules-message button's stateless custom_id must say after the route prefix
(:data:`CUSTOM_ID_PREFIX`, layout :data:`CUSTOM_ID_VERSION`) so that a button posted long
ago works on any pod after any restart: "View rules" carries ``("view",)``; "I agree"
carries ``("agree", <rules version>)``, e.g. ``onb:1:agree:3``. The rules modal carries
``("save", <version it was opened on>)`` (a modal route: same prefix and version, another
kind), so saving is a compare-and-swap on what the admin edited. The "Edit rules" button
of ``/onboarding rules`` has its own prefix (:data:`EDIT_PREFIX`, no arguments: it opens
the modal on the rules as they are when pressed), because its route answers with a modal
and is never auto-deferred. Parsing never trusts the text: anything malformed is None.
Pure. Does not own the codec or the router (built in `shoal.interactions`) nor what a
press does (`shoal.features.onboarding.rules`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CUSTOM_ID_PREFIX",
    "CUSTOM_ID_VERSION",
    "EDIT_PREFIX",
    "RULES_INPUT_ID",
    "AgreeButton",
    "SaveRulesModal",
    "ViewRulesButton",
    "agree_arguments",
    "parse_arguments",
    "parse_modal_arguments",
    "save_arguments",
    "view_arguments",
]

CUSTOM_ID_PREFIX: Final = "onb"
CUSTOM_ID_VERSION: Final = 1
EDIT_PREFIX: Final = "onbedit"
_VIEW: Final = "view"
_AGREE: Final = "agree"
_SAVE: Final = "save"
#: The custom_id of the rules modal's one text input (the modal's own id carries the rest).
RULES_INPUT_ID: Final = "rules"
_VERSION_MAX: Final = 2**31 - 1  # the column is a PostgreSQL integer


@dataclasses.dataclass(frozen=True, slots=True)
class ViewRulesButton:
    """The "View rules" button: shows the rules ephemerally."""


@dataclasses.dataclass(frozen=True, slots=True)
class AgreeButton:
    """The "I agree" button of one rules version."""

    rules_version: int
    """The rules version the message showed when it was posted or last edited."""


@dataclasses.dataclass(frozen=True, slots=True)
class SaveRulesModal:
    """The rules modal: saves the text if the rules are still at ``expected_version``."""

    expected_version: int
    """The version the modal was opened on (0: the guild had no rules yet)."""


def view_arguments() -> tuple[str]:
    """Return the custom_id arguments of "View rules"."""
    return (_VIEW,)


def agree_arguments(rules_version: int) -> tuple[str, str]:
    """Return the custom_id arguments of "I agree" for ``rules_version`` (1 or more)."""
    if not 1 <= rules_version <= _VERSION_MAX:
        raise ValueError(f"rules_version must be 1 to {_VERSION_MAX}, got {rules_version}")
    return _AGREE, str(rules_version)


def save_arguments(expected_version: int) -> tuple[str, str]:
    """Return the custom_id arguments of the rules modal opened on ``expected_version``."""
    if not 0 <= expected_version < _VERSION_MAX:
        raise ValueError(
            f"expected_version must be 0 to {_VERSION_MAX - 1}, got {expected_version}"
        )
    return _SAVE, str(expected_version)


def parse_arguments(args: Sequence[str]) -> ViewRulesButton | AgreeButton | None:
    """Return the button ``args`` stand for, or None when they are not one of ours."""
    if tuple(args) == (_VIEW,):
        return ViewRulesButton()
    if len(args) == 2 and args[0] == _AGREE and args[1].isascii() and args[1].isdigit():  # noqa: PLR2004 - name and version
        version = int(args[1])
        if 1 <= version <= _VERSION_MAX:
            return AgreeButton(version)
    return None


def parse_modal_arguments(args: Sequence[str]) -> SaveRulesModal | None:
    """Return the rules modal ``args`` stand for, or None when they are not one of ours."""
    if len(args) == 2 and args[0] == _SAVE and args[1].isascii() and args[1].isdigit():  # noqa: PLR2004 - name and version
        version = int(args[1])
        if version < _VERSION_MAX:
            return SaveRulesModal(version)
    return None
