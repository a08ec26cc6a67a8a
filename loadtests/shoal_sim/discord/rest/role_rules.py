"""Role bodies: which fields Discord accepts when a bot creates or edits a role.

Pure: a body in, field errors out; :func:`role_changes` returns the cleaned values.
"""

from __future__ import annotations

from typing import Any, Final

from shoal_sim.discord.rest import errors

__all__ = ["MAX_ROLES", "TOO_MANY_ROLES", "check_role", "role_changes"]

JSON = dict[str, Any]

MAX_ROLES: Final = 250
TOO_MANY_ROLES: Final = errors.Failure(400, 30005, "Maximum number of guild roles reached (250)")
_MAX_NAME_CHARS: Final = 100
_MAX_COLOR: Final = 0xFFFFFF
_MAX_PERMISSIONS: Final = (1 << 53) - 1


def check_role(body: JSON) -> errors.FieldErrors:
    """Return what is wrong with a role create or edit body."""
    problems = errors.FieldErrors()
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > _MAX_NAME_CHARS):
        problems.add(("name",), *errors.too_long(_MAX_NAME_CHARS))
    permissions = body.get("permissions")
    if permissions is not None and _as_int(permissions, _MAX_PERMISSIONS) is None:
        problems.add(("permissions",), "NUMBER_TYPE_COERCE", f'Value "{permissions}" is not int.')
    color = body.get("color")
    if color is not None and _as_int(color, _MAX_COLOR) is None:
        problems.add(("color",), "NUMBER_TYPE_MAX", f"int value should be <= {_MAX_COLOR}.")
    for flag in ("hoist", "mentionable"):
        if body.get(flag) is not None and not isinstance(body[flag], bool):
            problems.add((flag,), "BASE_TYPE_BOOLEAN", "Must be either true or false.")
    return problems


def role_changes(body: JSON) -> JSON:
    """Return the role fields a checked body sets, keyed by :class:`Role` attribute."""
    changes: JSON = {}
    if body.get("name") is not None:
        changes["name"] = body["name"]
    if body.get("permissions") is not None:
        changes["permissions"] = int(body["permissions"])
    if body.get("color") is not None:
        changes["color"] = int(body["color"])
    if body.get("hoist") is not None:
        changes["is_hoisted"] = body["hoist"]
    if body.get("mentionable") is not None:
        changes["is_mentionable"] = body["mentionable"]
    return changes


def _as_int(value: object, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= high:
        return value
    return None
