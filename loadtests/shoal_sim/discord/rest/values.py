"""Discord's JSON scalars: snowflakes sent as strings or integers.

Pure and stdlib-only, so rules modules and request parsing share one definition.
"""

from __future__ import annotations

from typing import Final

__all__ = ["as_snowflake"]

_SNOWFLAKE_MAX: Final = (1 << 64) - 1


def as_snowflake(raw: object) -> int | None:
    """Return ``raw`` (a decimal string or an int) as a snowflake, or None if it is not one."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return None
    text = str(raw)
    if not text.isdigit() or int(text) > _SNOWFLAKE_MAX:
        return None
    return int(text)
