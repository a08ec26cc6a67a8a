"""The facts of a MESSAGE_CREATE that message-driven features need, read from the raw payload.

Parsing a message into hikari entities costs tens of microseconds; XP and activity counts
need six fields. :func:`message_facts` reads them from the gateway's raw dispatch (the
worker's raw-event seam, before hikari parses anything) into a :class:`MessageFacts`, and
features' message taps (``Module.message_taps``) receive that. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

__all__ = ["MESSAGE_CREATE", "MessageFacts", "message_facts"]

MESSAGE_CREATE: Final = "MESSAGE_CREATE"


class MessageFacts(NamedTuple):
    """One message, as much as message-driven features need to know.

    A named tuple, not a frozen dataclass: one is built for every MESSAGE_CREATE, and a
    frozen dataclass's ``__init__`` costs three times as much (about 1.5 us more).
    """

    message_id: int
    """Its snowflake (its creation time is in it)."""
    guild_id: int | None
    """The guild, or None in a DM."""
    channel_id: int
    """Where it was sent (a thread's own id for a thread message)."""
    author_id: int
    """Its author (a webhook's id for a webhook message)."""
    is_bot: bool
    """The author is a bot (or a system user)."""
    is_webhook: bool
    """Sent through a webhook (``webhook_id`` set): no member earns from it."""
    role_ids: tuple[int, ...]
    """The author's roles in the guild (empty in a DM or for a webhook)."""
    content_length: int
    """Characters of text (0 when the bot lacks the message-content intent)."""

    @property
    def is_from_member(self) -> bool:
        """True for a guild message by a human member: the only kind that earns or counts."""
        return self.guild_id is not None and not self.is_bot and not self.is_webhook


def message_facts(payload: dict[str, Any]) -> MessageFacts | None:
    """Return the facts of a MESSAGE_CREATE payload, or None when it is malformed."""
    try:
        author = payload["author"]
        guild = payload.get("guild_id")
        member = payload.get("member")
        roles = member.get("roles", ()) if isinstance(member, dict) else ()
        content = payload.get("content")
        return MessageFacts(
            message_id=int(payload["id"]),
            guild_id=None if guild is None else int(guild),
            channel_id=int(payload["channel_id"]),
            author_id=int(author["id"]),
            is_bot=bool(author.get("bot") or author.get("system")),
            is_webhook=payload.get("webhook_id") is not None,
            role_ids=tuple(int(role) for role in roles),
            content_length=len(content) if isinstance(content, str) else 0,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
