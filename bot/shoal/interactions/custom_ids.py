"""Stateless, persistent custom_ids for buttons, selects and modals: a codec, pure.

A component's custom_id says everything its handler needs: ``<prefix>:<version>:<arg>...``
(``rm:1:42`` is role menu 42's select; ``onb:1:agree:3`` agrees to rules version 3). No
view is held in memory, so a button posted a year ago works on any pod of any generation
after any restart or reshard: the router finds the handler by prefix and version, and the
handler reads its arguments. A feature that changes what its arguments mean bumps the
version and keeps the old one's route while old messages exist.

Discord caps a custom_id at 100 characters; :func:`encode` refuses longer ones, so no
component is ever sent that Discord would reject.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

__all__ = ["MAX_CUSTOM_ID", "CustomId", "check_prefix", "decode", "encode"]

MAX_CUSTOM_ID: Final = 100
_SEPARATOR: Final = ":"
_PREFIX: Final = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_MAX_VERSION: Final = 999


def check_prefix(prefix: str) -> str:
    """Return ``prefix``, or raise ValueError when it is not 1-16 lowercase snake case."""
    if not _PREFIX.match(prefix):
        msg = f"custom_id prefix {prefix!r} must be 1-16 characters of lowercase snake case"
        raise ValueError(msg)
    return prefix


@dataclasses.dataclass(frozen=True, slots=True)
class CustomId:
    """A decoded custom_id."""

    prefix: str
    """Which feature's route handles it (``rm``, ``onb``, ``lvl``)."""
    version: int
    """The version of its argument layout."""
    args: tuple[str, ...] = ()
    """Its arguments, as text."""

    def int_arg(self, index: int) -> int | None:
        """Return argument ``index`` as an int, or None when missing or not an integer."""
        if index >= len(self.args):
            return None
        arg = self.args[index]
        return int(arg) if arg.isascii() and arg.lstrip("-").isdigit() else None


def encode(prefix: str, version: int, *args: str | int) -> str:
    """Return the custom_id for ``prefix`` at ``version`` with ``args``.

    Raises:
        ValueError: a bad prefix or version, an argument holding ``:``, or a result longer
            than Discord's 100 characters.
    """
    check_prefix(prefix)
    if not 1 <= version <= _MAX_VERSION:
        msg = f"custom_id version must be 1 to {_MAX_VERSION}, got {version}"
        raise ValueError(msg)
    texts = [str(arg) for arg in args]
    if any(_SEPARATOR in text for text in texts):
        msg = f"custom_id arguments may not contain {_SEPARATOR!r}: {texts!r}"
        raise ValueError(msg)
    custom_id = _SEPARATOR.join([prefix, str(version), *texts])
    if len(custom_id) > MAX_CUSTOM_ID:
        msg = f"custom_id is {len(custom_id)} characters, Discord allows {MAX_CUSTOM_ID}"
        raise ValueError(msg)
    return custom_id


def decode(custom_id: str) -> CustomId | None:
    """Return the parts of ``custom_id``, or None when it is not one of Shoal's."""
    prefix, _, rest = custom_id.partition(_SEPARATOR)
    version_text, _, tail = rest.partition(_SEPARATOR)
    if not _PREFIX.match(prefix) or not version_text.isascii() or not version_text.isdigit():
        return None
    version = int(version_text)
    if not 1 <= version <= _MAX_VERSION:
        return None
    args = tuple(tail.split(_SEPARATOR)) if tail else ()
    return CustomId(prefix=prefix, version=version, args=args)
