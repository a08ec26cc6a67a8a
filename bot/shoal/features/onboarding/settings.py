"""Onboarding's per-guild settings (stored under the ``onboarding`` key of guild settings).

Owns :class:`OnboardingSettings`: which roles and channel the flow uses, whether a new
rules version asks members to agree again, and the welcome message template, validated
with messages that name the field. Does not own the rules text (versioned in
`shoal.features.onboarding.repository`) nor what the flow decides
(`shoal.features.onboarding.rules`).
"""

from __future__ import annotations

import string
from typing import Annotated, Final, Self

import pydantic

__all__ = ["SETTINGS_KEY", "WELCOME_PLACEHOLDERS", "OnboardingSettings"]

#: The key of `shoal.storage.guild_settings.GuildSettings.settings` holding these settings.
SETTINGS_KEY: Final = "onboarding"
#: What a welcome template may name: ``{mention}`` (pings the member), ``{name}`` (their
#: display name) and ``{server}`` (the guild's name).
WELCOME_PLACEHOLDERS: Final = frozenset({"mention", "name", "server"})
_WELCOME_MAX: Final = 1_500  # leaves room in Discord's 2,000 characters for long names
_SNOWFLAKE_MAX: Final = 2**63 - 1

_Snowflake = Annotated[int, pydantic.Field(gt=0, le=_SNOWFLAKE_MAX, strict=True)]


class OnboardingSettings(pydantic.BaseModel):
    """One guild's onboarding settings; the defaults are a guild that has not set it up."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    pre_member_role_id: _Snowflake | None = None
    """The role a joined member gets until they agree: it should see only the rules."""
    member_role_id: _Snowflake | None = None
    """The role agreeing gives (and takes the Pre-Member role away)."""
    rules_channel_id: _Snowflake | None = None
    """The channel of the rules message."""
    require_current_version: bool = False
    """True: an agreement counts only for the current rules version, so after an edit a
    member who rejoins (or presses an old "I agree") must agree to the new rules. Members
    who hold Member keep it: nothing is taken away in bulk. False: any agreement counts."""
    welcome_message: str | None = None
    """Sent when a member agrees (see :data:`WELCOME_PLACEHOLDERS`); None sends none."""
    welcome_channel_id: _Snowflake | None = None
    """Where the welcome message is posted; None: the rules channel."""

    @property
    def is_complete(self) -> bool:
        """True when both roles and the rules channel are set (the rules text aside)."""
        return None not in (self.pre_member_role_id, self.member_role_id, self.rules_channel_id)

    @pydantic.field_validator("welcome_message")
    @classmethod
    def _check_welcome(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("welcome_message must not be blank (leave it unset for none)")
        if len(value) > _WELCOME_MAX:
            raise ValueError(
                f"welcome_message must be at most {_WELCOME_MAX} characters, got {len(value)}"
            )
        try:
            parts = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value)]
        except ValueError as exc:  # an unmatched brace
            raise ValueError(
                f"welcome_message is not a valid template ({exc}): write braces as {{{{ }}}}"
            ) from exc
        # No format specs or conversions: "{mention:>9999999}" would build a huge string.
        if any(spec or conv for name, spec, conv in parts if name is not None):
            raise ValueError("welcome_message placeholders take no format: write {mention}")
        fields = [name for name, _, _ in parts if name is not None]
        unknown = sorted(set(fields) - WELCOME_PLACEHOLDERS)
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in sorted(WELCOME_PLACEHOLDERS))
            named = ", ".join(f"{{{name}}}" for name in unknown)
            raise ValueError(f"welcome_message names unknown placeholder(s) {named}: use {known}")
        return value

    @pydantic.model_validator(mode="after")
    def _check_roles_differ(self) -> Self:
        if self.pre_member_role_id is not None and self.pre_member_role_id == self.member_role_id:
            raise ValueError("pre_member_role_id and member_role_id must be two different roles")
        return self
