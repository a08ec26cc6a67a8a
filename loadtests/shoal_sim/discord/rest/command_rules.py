r"""Application commands: which definitions Discord accepts, and how it stores them.

Pure: bodies in, field errors or stored JSON out. Names of chat-input commands and of
options must match Discord's ``^[-_'\p{L}\p{N}]{1,32}$`` in lower case; context menu
commands take any 1-32 character name and no description. Options nest as Discord
allows (groups hold subcommands, subcommands hold plain options), required options
come first, names are unique per level, and each level holds at most 25.
"""

from __future__ import annotations

import re
from typing import Any, Final

from shoal_sim.discord.rest import errors

__all__ = [
    "CHAT_INPUT",
    "MAX_CHAT_INPUT_COMMANDS",
    "MAX_CONTEXT_MENU_COMMANDS",
    "TOO_MANY_COMMANDS",
    "check_bulk",
    "check_command",
    "stored_command",
]

JSON = dict[str, Any]

CHAT_INPUT: Final = 1
_USER: Final = 2
_MESSAGE: Final = 3
_PRIMARY_ENTRY_POINT: Final = 4
_COMMAND_TYPES: Final = frozenset({CHAT_INPUT, _USER, _MESSAGE, _PRIMARY_ENTRY_POINT})
_SUB_COMMAND: Final = 1
_SUB_COMMAND_GROUP: Final = 2
_STRING: Final = 3
_INTEGER: Final = 4
_NUMBER: Final = 10
_OPTION_TYPES: Final = frozenset(range(1, 12))
_CHOICE_TYPES: Final = frozenset({_STRING, _INTEGER, _NUMBER})
_PLAIN_TYPES: Final = _OPTION_TYPES - {_SUB_COMMAND, _SUB_COMMAND_GROUP}
#: Option types allowed under a command (None), a group and a subcommand.
_ALLOWED_UNDER: Final[dict[int | None, frozenset[int]]] = {
    None: _OPTION_TYPES,
    _SUB_COMMAND_GROUP: frozenset({_SUB_COMMAND}),
    _SUB_COMMAND: _PLAIN_TYPES,
}

MAX_CHAT_INPUT_COMMANDS: Final = 100
MAX_CONTEXT_MENU_COMMANDS: Final = 5
"""Per type (user, message), globally and per guild."""
TOO_MANY_COMMANDS: Final = errors.Failure(
    400, 30032, "Maximum number of application commands reached (100)"
)
_MAX_NAME_CHARS: Final = 32
_MAX_DESCRIPTION_CHARS: Final = 100
_MAX_OPTIONS: Final = 25
_MAX_CHOICES: Final = 25
_NAME: Final = re.compile(r"^[-_'\w]{1,32}$")
#: Keys of an option as Discord stores and returns it.
_OPTION_KEYS: Final = (
    "type",
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "required",
    "choices",
    "options",
    "channel_types",
    "min_value",
    "max_value",
    "min_length",
    "max_length",
    "autocomplete",
)


def check_command(body: JSON) -> errors.FieldErrors:
    """Return what is wrong with one command definition (empty when valid)."""
    problems = errors.FieldErrors()
    command_type = body.get("type") or CHAT_INPUT
    if command_type not in _COMMAND_TYPES:
        problems.add(
            ("type",), "BASE_TYPE_CHOICES", f"Value must be one of {sorted(_COMMAND_TYPES)}."
        )
        return problems
    is_chat = command_type == CHAT_INPUT
    _check_name(("name",), body.get("name"), is_chat_input=is_chat, problems=problems)
    description = body.get("description")
    if is_chat:
        _check_description(("description",), description, problems)
        options = body.get("options")
        if options is not None:
            _check_options(("options",), options, parent=None, problems=problems)
    else:
        if description:
            problems.add(
                ("description",),
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have a description",
            )
        if body.get("options"):
            problems.add(
                ("options",),
                "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                "Context menu commands cannot have options",
            )
    _check_permissions(body.get("default_member_permissions"), problems)
    return problems


def check_bulk(bodies: list[Any]) -> errors.FieldErrors:
    """Return what is wrong with a bulk overwrite (empty when valid).

    Raises:
        DiscordError: 30032 when it holds more commands of one type than Discord allows.
    """
    problems = errors.FieldErrors()
    seen: set[tuple[int, str]] = set()
    counts: dict[int, int] = {}
    for index, body in enumerate(bodies):
        if not isinstance(body, dict):
            problems.add((index,), *errors.NOT_A_DICT)
            continue
        problems.merge((index,), check_command(body))
        command_type = body.get("type") or CHAT_INPUT
        key = (command_type, str(body.get("name")))
        if key in seen:
            problems.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        seen.add(key)
        counts[command_type] = counts.get(command_type, 0) + 1
    for command_type, count in counts.items():
        cap = MAX_CHAT_INPUT_COMMANDS if command_type == CHAT_INPUT else MAX_CONTEXT_MENU_COMMANDS
        if count > cap:
            raise errors.DiscordError(TOO_MANY_COMMANDS)
    return problems


def stored_command(
    body: JSON, *, command_id: int, application_id: int, version: int, guild_id: int | None
) -> JSON:
    """Return a valid definition as Discord stores and returns it."""
    command_type = body.get("type") or CHAT_INPUT
    permissions = body.get("default_member_permissions")
    stored: JSON = {
        "id": str(command_id),
        "application_id": str(application_id),
        "version": str(version),
        "default_member_permissions": None if permissions is None else str(int(permissions)),
        "type": command_type,
        "name": body["name"],
        "name_localizations": body.get("name_localizations") or None,
        "description": body.get("description") or "",
        "description_localizations": body.get("description_localizations") or None,
        "dm_permission": body.get("dm_permission", True) is not False,
        "contexts": body.get("contexts"),
        "integration_types": body.get("integration_types") or [0],
        "nsfw": bool(body.get("nsfw")),
    }
    options = body.get("options")
    if command_type == CHAT_INPUT and options:
        stored["options"] = [_stored_option(o) for o in options]
    if guild_id is not None:
        stored["guild_id"] = str(guild_id)
    return stored


def _stored_option(option: JSON) -> JSON:
    stored = {k: option[k] for k in _OPTION_KEYS if option.get(k) is not None}
    if not stored.get("required"):
        stored.pop("required", None)  # Discord omits "required": false
    for key in ("name_localizations", "description_localizations"):
        if not stored.get(key):
            stored.pop(key, None)
    if "options" in stored:
        stored["options"] = [_stored_option(o) for o in stored["options"]]
    return stored


def _check_name(
    path: tuple[str | int, ...], name: object, *, is_chat_input: bool, problems: errors.FieldErrors
) -> None:
    if not isinstance(name, str):
        problems.add(path, *errors.REQUIRED)
        return
    if not 1 <= len(name) <= _MAX_NAME_CHARS:
        problems.add(
            path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {_MAX_NAME_CHARS} in length."
        )
        return
    if is_chat_input and (_NAME.match(name) is None or name != name.lower()):
        problems.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_description(
    path: tuple[str | int, ...], description: object, problems: errors.FieldErrors
) -> None:
    if not isinstance(description, str):
        problems.add(path, *errors.REQUIRED)
    elif not 1 <= len(description) <= _MAX_DESCRIPTION_CHARS:
        problems.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {_MAX_DESCRIPTION_CHARS} in length.",
        )


def _check_permissions(value: object, problems: errors.FieldErrors) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isdigit())
    ):
        problems.add(
            ("default_member_permissions",), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.'
        )


def _check_options(
    path: tuple[str | int, ...],
    options: object,
    *,
    parent: int | None,
    problems: errors.FieldErrors,
) -> None:
    """Check one level of options under ``parent`` (an option type; None is the command)."""
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        problems.add(path, *errors.NOT_A_LIST)
        return
    if len(options) > _MAX_OPTIONS:
        problems.add(path, *errors.too_long(_MAX_OPTIONS))
    names = [o.get("name") for o in options]
    if len(set(map(str, names))) != len(names):
        problems.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
            "Command options have duplicate names",
        )
    is_required = [bool(o.get("required")) for o in options]
    if is_required != sorted(is_required, reverse=True):
        problems.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
            "Required options must be placed before non-required options",
        )
    kinds = {o.get("type") in (_SUB_COMMAND, _SUB_COMMAND_GROUP) for o in options}
    if len(kinds) > 1:
        problems.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive "
            "to all other types",
        )
    for index, option in enumerate(options):
        _check_option((*path, index), option, parent=parent, problems=problems)


def _check_option(
    path: tuple[str | int, ...], option: JSON, *, parent: int | None, problems: errors.FieldErrors
) -> None:
    option_type = option.get("type")
    if option_type not in _OPTION_TYPES:
        problems.add(
            (*path, "type"), "BASE_TYPE_CHOICES", f"Value must be one of {sorted(_OPTION_TYPES)}."
        )
        return
    _check_name((*path, "name"), option.get("name"), is_chat_input=True, problems=problems)
    _check_description((*path, "description"), option.get("description"), problems)
    if option_type not in _ALLOWED_UNDER[parent]:
        problems.add(
            (*path, "type"),
            "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
            "This option type is not allowed here",
        )
    elif option_type in (_SUB_COMMAND, _SUB_COMMAND_GROUP):
        _check_options(
            (*path, "options"), option.get("options") or [], parent=option_type, problems=problems
        )
    choices = option.get("choices")
    if choices:
        if option_type not in _CHOICE_TYPES or not isinstance(choices, list):
            problems.add(
                (*path, "choices"),
                "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                "Choices are only allowed on string, integer and number options",
            )
        elif len(choices) > _MAX_CHOICES:
            problems.add((*path, "choices"), *errors.too_long(_MAX_CHOICES))
        if option.get("autocomplete"):
            problems.add(
                (*path, "autocomplete"),
                "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
                "Autocomplete cannot be enabled on options with choices",
            )
