"""Interaction responses: the 3 s deadline, exactly-once, which callback types fit, token life.

Pure: times are monotonic seconds passed in. The callback handler
(:mod:`.interactions`) and the webhook routes (:mod:`.webhooks`) act on these verdicts.
"""

from __future__ import annotations

import enum
from typing import Any, Final

from shoal_sim.discord.rest import errors

__all__ = [
    "AUTOCOMPLETE_RESULT",
    "CHANNEL_MESSAGE",
    "DEFERRED_CHANNEL_MESSAGE",
    "DEFERRED_UPDATE_MESSAGE",
    "MODAL",
    "PONG",
    "UPDATE_MESSAGE",
    "CallbackVerdict",
    "check_callback",
    "is_token_expired",
    "judge_callback",
    "message_type_for",
]

JSON = dict[str, Any]

PONG: Final = 1
CHANNEL_MESSAGE: Final = 4
DEFERRED_CHANNEL_MESSAGE: Final = 5
DEFERRED_UPDATE_MESSAGE: Final = 6
UPDATE_MESSAGE: Final = 7
AUTOCOMPLETE_RESULT: Final = 8
MODAL: Final = 9
_LAUNCH_ACTIVITY: Final = 12

_PING: Final = 1
_APPLICATION_COMMAND: Final = 2
_MESSAGE_COMPONENT: Final = 3
_AUTOCOMPLETE: Final = 4
_MODAL_SUBMIT: Final = 5
#: Callback types Discord accepts for each interaction type.
_ALLOWED: Final[dict[int, frozenset[int]]] = {
    _PING: frozenset({PONG}),
    _APPLICATION_COMMAND: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL, _LAUNCH_ACTIVITY}
    ),
    _MESSAGE_COMPONENT: frozenset(
        {
            CHANNEL_MESSAGE,
            DEFERRED_CHANNEL_MESSAGE,
            DEFERRED_UPDATE_MESSAGE,
            UPDATE_MESSAGE,
            MODAL,
            _LAUNCH_ACTIVITY,
        }
    ),
    _AUTOCOMPLETE: frozenset({AUTOCOMPLETE_RESULT}),
    _MODAL_SUBMIT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE}
    ),
}
_MAX_CHOICES: Final = 25
_MAX_MODAL_TITLE: Final = 45
_MAX_CUSTOM_ID: Final = 100
_MAX_MODAL_ROWS: Final = 5
#: Message types of original responses: chat input command, context menu command.
_CHAT_INPUT_MESSAGE: Final = 20
_CONTEXT_MENU_MESSAGE: Final = 23


class CallbackVerdict(enum.Enum):
    """What becomes of an initial response."""

    ACCEPTED = "accepted"
    LATE = "late"
    """Past the deadline: 404 10062 Unknown interaction."""
    ALREADY_ACKNOWLEDGED = "already acknowledged"
    """A second response: 400 40060."""


def judge_callback(
    *,
    started_at: float,
    responded_at: float | None,
    now: float,
    deadline_s: float,
    is_expired: bool = False,
) -> CallbackVerdict:
    """Judge an initial response arriving at ``now`` for an interaction sent at ``started_at``.

    ``is_expired`` says the interaction was already counted unanswered: it is late
    whatever the clock says, so that no interaction is both answered and unanswered.
    """
    if responded_at is not None:
        return CallbackVerdict.ALREADY_ACKNOWLEDGED
    if is_expired or now - started_at > deadline_s:
        return CallbackVerdict.LATE
    return CallbackVerdict.ACCEPTED


def is_token_expired(*, created_at: float, now: float, ttl_s: float) -> bool:
    """Return whether an interaction token is past its life (follow-ups get 10015)."""
    return now - created_at > ttl_s


def check_callback(interaction_type: int, body: JSON) -> errors.FieldErrors:
    """Return what is wrong with a callback body for an interaction of ``interaction_type``.

    Message contents (types 4 and 7) are checked by :mod:`.message_rules`.
    """
    problems = errors.FieldErrors()
    response_type = body.get("type")
    allowed = _ALLOWED.get(interaction_type, frozenset())
    if response_type not in allowed:
        problems.add(
            ("type",),
            "INTERACTION_RESPONSE_TYPE_INVALID",
            f"Value must be one of {sorted(allowed)}.",
        )
        return problems
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        problems.add(("data",), *errors.NOT_A_DICT)
    elif response_type == AUTOCOMPLETE_RESULT:
        _check_choices(data or {}, problems)
    elif response_type == MODAL:
        _check_modal(data or {}, problems)
    return problems


def message_type_for(interaction_type: int, data: JSON) -> int:
    """Return the message type of an original response (20/23 for commands, else 0)."""
    if interaction_type != _APPLICATION_COMMAND:
        return 0
    return _CHAT_INPUT_MESSAGE if data.get("type", 1) == 1 else _CONTEXT_MENU_MESSAGE


def _check_choices(data: JSON, problems: errors.FieldErrors) -> None:
    choices = data.get("choices")
    if not isinstance(choices, list):
        problems.add(("data", "choices"), *errors.REQUIRED)
    elif len(choices) > _MAX_CHOICES:
        problems.add(("data", "choices"), *errors.too_long(_MAX_CHOICES))


def _check_modal(data: JSON, problems: errors.FieldErrors) -> None:
    for key, limit in (("title", _MAX_MODAL_TITLE), ("custom_id", _MAX_CUSTOM_ID)):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            problems.add(("data", key), *errors.REQUIRED)
        elif len(value) > limit:
            problems.add(("data", key), *errors.too_long(limit))
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= _MAX_MODAL_ROWS:
        problems.add(
            ("data", "components"),
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {_MAX_MODAL_ROWS} in length.",
        )
