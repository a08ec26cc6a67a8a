"""Discord-shaped REST errors: JSON codes, messages and HTTP statuses, and form-body trees.

Handlers and rules raise :class:`DiscordError`; :mod:`.routing` turns it into the JSON
body ``{"code", "message", "errors"?}`` with its status. Nothing here knows aiohttp, so
pure rules can raise these too. Codes and messages are Discord's (JSON error codes in
its documentation).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

__all__ = [
    "CANNOT_EDIT_OTHERS_MESSAGE",
    "DM_CHANNEL_ACTION",
    "EMPTY_MESSAGE",
    "ENTITY_TOO_LARGE",
    "INTERACTION_ALREADY_ACKNOWLEDGED",
    "INTERNAL_ERROR",
    "INVALID_FORM_BODY",
    "INVALID_JSON",
    "INVALID_ROLE",
    "METHOD_NOT_ALLOWED",
    "MISSING_ACCESS",
    "MISSING_PERMISSIONS",
    "NON_TEXT_CHANNEL",
    "NOT_A_DICT",
    "NOT_A_LIST",
    "NOT_FOUND",
    "NOT_IN_VOICE",
    "REQUIRED",
    "THREAD_ALREADY_CREATED",
    "UNAUTHORIZED",
    "UNKNOWN_BAN",
    "UNKNOWN_CHANNEL",
    "UNKNOWN_COMMAND",
    "UNKNOWN_GUILD",
    "UNKNOWN_INTERACTION",
    "UNKNOWN_MEMBER",
    "UNKNOWN_MESSAGE",
    "UNKNOWN_ROLE",
    "UNKNOWN_USER",
    "UNKNOWN_WEBHOOK",
    "WRONG_CHANNEL_TYPE",
    "DiscordError",
    "Failure",
    "FieldErrors",
    "invalid_field",
    "too_long",
]

JSON = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """One kind of Discord error: HTTP status, JSON code and message."""

    status: int
    code: int
    message: str


# Code 0: the HTTP-level errors, whose message repeats the status line.
UNAUTHORIZED: Final = Failure(401, 0, "401: Unauthorized")
NOT_FOUND: Final = Failure(404, 0, "404: Not Found")
METHOD_NOT_ALLOWED: Final = Failure(405, 0, "405: Method Not Allowed")
INTERNAL_ERROR: Final = Failure(500, 0, "500: Internal Server Error")
# 10xxx: unknown things.
UNKNOWN_CHANNEL: Final = Failure(404, 10003, "Unknown Channel")
UNKNOWN_GUILD: Final = Failure(404, 10004, "Unknown Guild")
UNKNOWN_MEMBER: Final = Failure(404, 10007, "Unknown Member")
UNKNOWN_MESSAGE: Final = Failure(404, 10008, "Unknown Message")
UNKNOWN_ROLE: Final = Failure(404, 10011, "Unknown Role")
UNKNOWN_USER: Final = Failure(404, 10013, "Unknown User")
UNKNOWN_WEBHOOK: Final = Failure(404, 10015, "Unknown Webhook")
UNKNOWN_BAN: Final = Failure(404, 10026, "Unknown Ban")
UNKNOWN_INTERACTION: Final = Failure(404, 10062, "Unknown interaction")
UNKNOWN_COMMAND: Final = Failure(404, 10063, "Unknown application command")
# 40xxx: request-level refusals.
ENTITY_TOO_LARGE: Final = Failure(413, 40005, "Request entity too large")
NOT_IN_VOICE: Final = Failure(400, 40032, "Target user is not connected to voice.")
INTERACTION_ALREADY_ACKNOWLEDGED: Final = Failure(
    400, 40060, "Interaction has already been acknowledged."
)
# 50xxx: access and validation.
MISSING_ACCESS: Final = Failure(403, 50001, "Missing Access")
DM_CHANNEL_ACTION: Final = Failure(400, 50003, "Cannot execute action on a DM channel")
CANNOT_EDIT_OTHERS_MESSAGE: Final = Failure(
    403, 50005, "Cannot edit a message authored by another user"
)
EMPTY_MESSAGE: Final = Failure(400, 50006, "Cannot send an empty message")
NON_TEXT_CHANNEL: Final = Failure(400, 50008, "Cannot send messages in a non-text channel")
MISSING_PERMISSIONS: Final = Failure(403, 50013, "Missing Permissions")
WRONG_CHANNEL_TYPE: Final = Failure(400, 50024, "Cannot execute action on this channel type")
INVALID_ROLE: Final = Failure(400, 50028, "Invalid Role")
INVALID_FORM_BODY: Final = Failure(400, 50035, "Invalid Form Body")
INVALID_JSON: Final = Failure(400, 50109, "The request body contains invalid JSON.")
# 160xxx: threads.
THREAD_ALREADY_CREATED: Final = Failure(
    400, 160004, "A thread has already been created for this message"
)


# Field error codes and messages that many rules share (Discord's strings).
NOT_A_DICT: Final = ("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
NOT_A_LIST: Final = ("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
REQUIRED: Final = ("BASE_TYPE_REQUIRED", "This field is required")


def too_long(limit: int) -> tuple[str, str]:
    """Return the field error of a string or list longer than ``limit``."""
    return "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."


class DiscordError(Exception):
    """A request Discord would refuse; carries the failure and, for 50035, the tree."""

    def __init__(self, failure: Failure, errors: JSON | None = None) -> None:
        """Refuse with ``failure``; ``errors`` is the field tree of an invalid form body."""
        super().__init__(failure.message)
        self.failure = failure
        self.errors = errors

    def body(self) -> JSON:
        """Return the JSON error body."""
        payload: JSON = {"message": self.failure.message, "code": self.failure.code}
        if self.errors:
            payload["errors"] = self.errors
        return payload


class FieldErrors:
    """Collects field errors into Discord's tree and raises them as one 50035.

    A path names the field: ``("options", 0, "name")`` becomes
    ``{"options": {"0": {"name": {"_errors": [{"code", "message"}]}}}}``. The empty path
    puts errors at the root (a body of the wrong type).
    """

    __slots__ = ("_tree",)

    def __init__(self) -> None:
        """Start with no errors."""
        self._tree: JSON = {}

    def __bool__(self) -> bool:
        """Return whether any error was added."""
        return bool(self._tree)

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        """Record an error ``code`` (Discord's string codes) with ``message`` at ``path``."""
        node = self._tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def merge(self, prefix: tuple[str | int, ...], other: FieldErrors) -> None:
        """Add every error of ``other`` under ``prefix``."""
        for path, code, message in other.flatten():
            self.add(prefix + path, code, message)

    def flatten(self) -> list[tuple[tuple[str, ...], str, str]]:
        """Return every error as ``(path, code, message)``, depth first (indexes as strings)."""
        found: list[tuple[tuple[str, ...], str, str]] = []

        def walk(node: JSON, path: tuple[str, ...]) -> None:
            for key, value in node.items():
                if key == "_errors":
                    found.extend((path, e["code"], e["message"]) for e in value)
                else:
                    walk(value, (*path, key))

        walk(self._tree, ())
        return found

    def tree(self) -> JSON:
        """Return the ``errors`` tree."""
        return self._tree

    def raise_if_any(self) -> None:
        """Raise the collected errors as one Invalid Form Body.

        Raises:
            DiscordError: 400 code 50035 with the tree, when any error was added.
        """
        if self._tree:
            raise DiscordError(INVALID_FORM_BODY, self._tree)


def invalid_field(path: tuple[str | int, ...], code: str, message: str) -> DiscordError:
    """Return an Invalid Form Body naming one bad field."""
    errors = FieldErrors()
    errors.add(path, code, message)
    return DiscordError(INVALID_FORM_BODY, errors.tree())
