"""Gateway close codes the simulator sends, with Discord's reasons."""

from __future__ import annotations

import enum

__all__ = ["CloseCode"]


class CloseCode(enum.IntEnum):
    """Discord gateway close codes (see discord-gateway.md)."""

    UNKNOWN_ERROR = 4000
    UNKNOWN_OPCODE = 4001
    DECODE_ERROR = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    INVALID_SEQ = 4007
    RATE_LIMITED = 4008
    SESSION_TIMED_OUT = 4009
    INVALID_SHARD = 4010
    SHARDING_REQUIRED = 4011
    INVALID_API_VERSION = 4012
    INVALID_INTENTS = 4013
    DISALLOWED_INTENTS = 4014

    @property
    def reason(self) -> str:
        """Return the reason text Discord sends with the code."""
        return _REASONS[self]


_REASONS = {
    CloseCode.UNKNOWN_ERROR: "Unknown error.",
    CloseCode.UNKNOWN_OPCODE: "Unknown opcode.",
    CloseCode.DECODE_ERROR: "Decode error.",
    CloseCode.NOT_AUTHENTICATED: "Not authenticated.",
    CloseCode.AUTHENTICATION_FAILED: "Authentication failed.",
    CloseCode.ALREADY_AUTHENTICATED: "Already authenticated.",
    CloseCode.INVALID_SEQ: "Invalid seq.",
    CloseCode.RATE_LIMITED: "Rate limited.",
    CloseCode.SESSION_TIMED_OUT: "Session timed out.",
    CloseCode.INVALID_SHARD: "Invalid shard.",
    CloseCode.SHARDING_REQUIRED: "Sharding required.",
    CloseCode.INVALID_API_VERSION: "Invalid API version.",
    CloseCode.INVALID_INTENTS: "Invalid intent(s).",
    CloseCode.DISALLOWED_INTENTS: "Disallowed intent(s).",
}
