"""Member edits: nicknames, role lists, timeouts (at most 28 days ahead), voice mute/deaf.

Pure: a body and ``now`` (Unix ms) in, field errors or a :class:`MemberEdit` out.
Whether the roles exist and the member is in voice is for the handler to check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Final

from shoal_sim.discord.rest import errors, values

__all__ = [
    "MAX_TIMEOUT_MS",
    "MemberEdit",
    "parse_member_edit",
    "parse_timestamp_ms",
    "purge_seconds",
]

JSON = dict[str, Any]

MAX_TIMEOUT_MS: Final = 28 * 24 * 3600 * 1000
"""A timeout may end at most 28 days from now."""
_MAX_NICK_CHARS: Final = 32
_MAX_DELETE_MESSAGE_S: Final = 7 * 24 * 3600


@dataclasses.dataclass(frozen=True, slots=True)
class MemberEdit:
    """What a member edit changes; a field left out of the body is not in ``changed``."""

    changed: frozenset[str]
    nick: str | None = None
    role_ids: tuple[int, ...] = ()
    timeout_until_ms: int | None = None
    is_mute: bool = False
    is_deaf: bool = False


def parse_member_edit(body: JSON, *, now_ms: int, is_self: bool = False) -> MemberEdit:
    """Check a member edit body (``is_self``: PATCH @me, which takes only ``nick``).

    Raises:
        DiscordError: 400 50035 naming every bad field.
    """
    problems = errors.FieldErrors()
    changed: set[str] = set()
    values: JSON = {}
    if "nick" in body:
        changed.add("nick")
        values["nick"] = _nick(body["nick"], problems)
    if not is_self:
        if body.get("roles") is not None:
            changed.add("role_ids")
            values["role_ids"] = _roles(body["roles"], problems)
        if "communication_disabled_until" in body:
            changed.add("timeout_until_ms")
            values["timeout_until_ms"] = _timeout(
                body["communication_disabled_until"], now_ms, problems
            )
        for key, attribute in (("mute", "is_mute"), ("deaf", "is_deaf")):
            if body.get(key) is not None:
                changed.add(attribute)
                values[attribute] = _boolean(key, body[key], problems)
    problems.raise_if_any()
    return MemberEdit(changed=frozenset(changed), **values)


def parse_timestamp_ms(value: str) -> int:
    """Return an ISO 8601 timestamp as Unix milliseconds (naive means UTC).

    Raises:
        ValueError: when ``value`` is not an ISO 8601 timestamp.
    """
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def purge_seconds(body: JSON) -> int:
    """Return how far back a ban deletes the user's messages, in seconds (0 to 7 days).

    ``delete_message_days`` is the deprecated form Discord still honours.

    Raises:
        DiscordError: 400 50035 when the value is out of range.
    """
    problems = errors.FieldErrors()
    value = body.get("delete_message_seconds")
    if value is None and isinstance(body.get("delete_message_days"), int):
        value = body["delete_message_days"] * 24 * 3600
    if value is not None and (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (0 <= value <= _MAX_DELETE_MESSAGE_S)
    ):
        problems.add(
            ("delete_message_seconds",),
            "NUMBER_TYPE_MAX",
            f"int value should be between 0 and {_MAX_DELETE_MESSAGE_S}.",
        )
    problems.raise_if_any()
    return value if isinstance(value, int) else 0


def _nick(value: object, problems: errors.FieldErrors) -> str | None:
    if value is None or value == "":
        return None  # an empty nickname resets it
    if not isinstance(value, str) or len(value) > _MAX_NICK_CHARS:
        problems.add(("nick",), *errors.too_long(_MAX_NICK_CHARS))
        return None
    return value


def _roles(value: object, problems: errors.FieldErrors) -> tuple[int, ...]:
    if not isinstance(value, list):
        problems.add(("roles",), *errors.NOT_A_LIST)
        return ()
    role_ids: list[int] = []
    for index, raw in enumerate(value):
        role_id = values.as_snowflake(raw)
        if role_id is None:
            problems.add(("roles", index), "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
        else:
            role_ids.append(role_id)
    return tuple(dict.fromkeys(role_ids))


def _timeout(value: object, now_ms: int, problems: errors.FieldErrors) -> int | None:
    if value is None:
        return None
    try:
        until_ms = parse_timestamp_ms(value) if isinstance(value, str) else None
    except ValueError:
        until_ms = None
    if until_ms is None:
        problems.add(
            ("communication_disabled_until",),
            "DATE_TIME_TYPE_PARSE",
            f"Could not parse {value}. Should be ISO8601.",
        )
        return None
    if until_ms - now_ms > MAX_TIMEOUT_MS:
        problems.add(
            ("communication_disabled_until",),
            "INVALID_COMMUNICATION_DISABLED_TIMESTAMP",
            "Invalid communication disabled timestamp",
        )
    return until_ms


def _boolean(key: str, value: object, problems: errors.FieldErrors) -> bool:
    if not isinstance(value, bool):
        problems.add((key,), "BASE_TYPE_BOOLEAN", "Must be either true or false.")
        return False
    return value
