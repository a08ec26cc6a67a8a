"""What a shard does when Discord closes its connection: the close-code policy."""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["FATAL_REASONS", "CloseAction", "action_for_close"]


class CloseAction(enum.Enum):
    """The worker's answer to a gateway close."""

    RESUME = "resume"
    """Reconnect and RESUME the session (nothing is lost)."""
    IDENTIFY = "identify"
    """The session is gone: reconnect and IDENTIFY through the cluster-wide gate."""
    STOP = "stop"
    """Reconnecting cannot help: stop the worker and record the reason for the operator."""


#: Close codes after which reconnecting cannot help, with what an operator should do.
FATAL_REASONS: Final[dict[int, str]] = {
    4004: "authentication failed: the bot token is wrong or was reset",
    4010: "invalid shard: the shard id or count is not accepted (large bots need a multiple)",
    4011: "sharding required: a shard holds too many guilds, reshard to more shards",
    4012: "invalid API version",
    4013: "invalid intents",
    4014: "disallowed intents: enable the privileged intents in the developer portal",
}
#: Discord ends the session on these (4007: bad seq; 4009: session timed out).
_SESSION_ENDING: Final = frozenset({1000, 1001, 4007, 4009})


def action_for_close(code: int) -> CloseAction:
    """Return what to do after the gateway closed with ``code``."""
    if code in FATAL_REASONS:
        return CloseAction.STOP
    if code in _SESSION_ENDING:
        return CloseAction.IDENTIFY
    return CloseAction.RESUME
