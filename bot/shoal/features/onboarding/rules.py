"""What onboarding decides and says: which roles a member gets, and every reply. Pure.

Owns the decisions of the flow (see `shoal.features.onboarding`): the role change when a
member joins or finishes membership screening, what pressing "I agree" does, whether an
agreement still counts, the checks an admin's setup must pass, and every text a member
or admin reads. Every function takes data and returns data; the listeners and buttons
wired on top read the facts, call these, then make at most one REST call
(``PATCH /guilds/{guild}/members/{user}`` with :attr:`RoleChange.role_ids`) and record
the agreement when :attr:`AgreeOutcome.should_record` says so.

Membership screening: a member still ``pending`` never gets a role from any function here
(giving one would let them skip the screening). A ``pending`` field missing from an event
counts as not pending only when the guild has no screening (``has_screening``: the guild
has the ``MEMBER_VERIFICATION_GATE_ENABLED`` feature); with screening it counts as still
pending, and the member gets their role from the next event that says ``pending: false``.

Does not own storage (`shoal.features.onboarding.repository`), the settings' validation
(`shoal.features.onboarding.settings`) nor role safety (`shoal.kit.roles`, used here).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from shoal.kit.roles import (
    RoleFacts,
    everyone_permissions,
    member_roles_after,
    self_role_refusal,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from shoal.features.onboarding.settings import OnboardingSettings

__all__ = [
    "ALREADY_AGREED_TEXT",
    "PENDING_TEXT",
    "RULES_TEXT_MAX",
    "SETUP_NEEDED_TEXT",
    "AgreeOutcome",
    "Agreement",
    "MemberFacts",
    "RoleChange",
    "RulesDocument",
    "agreement_counts",
    "check_rules_text",
    "is_still_pending",
    "on_agree",
    "on_member_joined",
    "on_member_updated",
    "rules_view_text",
    "setup_problems",
    "stale_rules_text",
    "welcome_text",
]

#: The longest rules text: a modal's paragraph input holds 4,000 characters, and an
#: embed's description (how "View rules" shows it) 4,096.
RULES_TEXT_MAX: Final = 4_000

SETUP_NEEDED_TEXT: Final = (
    "The server's admins have not finished setting up onboarding: ask them to run "
    "/onboarding setup."
)
PENDING_TEXT: Final = (
    "Finish this server's membership screening first (the form Discord shows when you "
    'join), then press "I agree" again.'
)
ALREADY_AGREED_TEXT: Final = "You have already agreed to the rules: there is nothing more to do."


@dataclasses.dataclass(frozen=True, slots=True)
class MemberFacts:
    """One guild member, as much as onboarding needs to know."""

    user_id: int
    """The member's user id."""
    role_ids: tuple[int, ...]
    """Their roles now (never @everyone), in Discord's order."""
    is_pending: bool | None
    """Discord's ``pending`` (membership screening not passed yet); None when the event
    did not carry the field."""
    is_bot: bool = False
    """A bot account: onboarding leaves bots alone (admins give their roles)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Agreement:
    """A member's agreement to a guild's rules (the latest version they agreed to)."""

    version: int
    """The highest rules version they agreed to."""
    agreed_at: datetime
    """When they agreed to that version."""


@dataclasses.dataclass(frozen=True, slots=True)
class RulesDocument:
    """A guild's rules: the text, its version, and where it is posted."""

    guild_id: int
    """The guild."""
    version: int
    """1 for the first text; each edit adds 1. The "I agree" button carries it."""
    text: str
    """The rules, as the admin wrote them (at most :data:`RULES_TEXT_MAX` characters)."""
    updated_at: datetime
    """When the text last changed."""
    channel_id: int | None = None
    """The channel of the posted rules message, if posted."""
    message_id: int | None = None
    """The posted rules message, if posted (to edit when the rules change)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RoleChange:
    """One member role change, sent as one PATCH of the member's full role list."""

    role_ids: tuple[int, ...]
    """The member's complete role list after the change (``roles`` of the PATCH)."""
    added: tuple[int, ...]
    """Roles the change gives."""
    removed: tuple[int, ...]
    """Roles the change takes away."""
    reason: str
    """The audit log reason (``X-Audit-Log-Reason``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class AgreeOutcome:
    """What pressing "I agree" does."""

    change: RoleChange | None
    """The role PATCH to send, or None when the member's roles are already right."""
    reply: str
    """The ephemeral reply to the member."""
    should_record: bool
    """True: record the agreement (guild, user, :attr:`version`, now) before replying."""
    version: int | None = None
    """The rules version agreed to (the button's), or None when nothing was agreed."""


def is_still_pending(is_pending: bool | None, *, has_screening: bool) -> bool:  # noqa: FBT001 - Discord's tri-state field, read positionally
    """Return True when the member may not have passed membership screening yet.

    A missing ``pending`` (None) counts as not pending only in a guild without screening.
    """
    return bool(is_pending) or (is_pending is None and has_screening)


def agreement_counts(
    agreement: Agreement | None, *, current_version: int, settings: OnboardingSettings
) -> bool:
    """Return True when ``agreement`` lets the member in under the current rules.

    Any agreement counts, unless ``settings.require_current_version`` asks for the current
    version.
    """
    if agreement is None:
        return False
    return not settings.require_current_version or agreement.version >= current_version


def on_member_joined(
    member: MemberFacts,
    settings: OnboardingSettings,
    agreement: Agreement | None,
    *,
    current_version: int | None,
    has_screening: bool,
) -> RoleChange | None:
    """Return the role change for a member who joined (or rejoined), or None for none.

    A member whose agreement counts gets Member (the rejoin check); anyone else gets
    Pre-Member. Nothing happens while the member is pending (their screening completion
    will), for bots, when onboarding is not set up (``current_version`` None: no rules
    written yet), or when the roles are already right. A member who already holds Member
    without an agreement (given by hand, or by another tool) is left alone.
    """
    if is_still_pending(member.is_pending, has_screening=has_screening):
        return None
    return _entry_change(member, settings, agreement, current_version=current_version)


def on_member_updated(
    member: MemberFacts,
    settings: OnboardingSettings,
    agreement: Agreement | None,
    *,
    before_pending: bool | None,
    now_pending: bool | None,
    current_version: int | None,
    has_screening: bool,
) -> RoleChange | None:
    """Return the role change for a member update, or None: acts when screening completes.

    Args:
        member: The member after the update (``member.is_pending`` is ignored: see
            ``now_pending``).
        settings: The guild's onboarding settings.
        agreement: The member's stored agreement, if any.
        before_pending: ``pending`` before the update, or None when unknown (the worker
            keeps no member cache, so usually None).
        now_pending: ``pending`` in the update (None when the field is missing).
        current_version: The guild's rules version, or None when no rules are written.
        has_screening: The guild has membership screening.

    Returns:
        The join decision (see :func:`on_member_joined`) once the member is no longer
        pending. When the previous state was known not pending, None: nothing changed for
        onboarding. When it is unknown, only a member holding neither onboarding role gets
        one, so that ordinary updates (nickname, other roles) never touch roles. One
        consequence: an admin who removes Member by hand from a member who agreed sees it
        come back at their next update; forgetting the agreement (or a moderation action)
        is the way to revoke it.
    """
    if is_still_pending(now_pending, has_screening=has_screening) or before_pending is False:
        return None
    if before_pending is None and _onboarding_roles(settings) & set(member.role_ids):
        return None
    return _entry_change(member, settings, agreement, current_version=current_version)


def on_agree(
    member: MemberFacts,
    settings: OnboardingSettings,
    *,
    button_version: int,
    current_version: int | None,
    agreement: Agreement | None,
    has_screening: bool,
) -> AgreeOutcome:
    """Return what pressing "I agree" (carrying ``button_version``) does for ``member``.

    Idempotent: pressing it again changes nothing and records nothing. The agreement is
    recorded when it is new or for a newer version than the stored one, for the button's
    version (what the member read). A button older than the current rules still counts
    unless ``settings.require_current_version``; a version the guild never had (a forged
    or corrupted custom_id) counts as stale.
    """
    pre_member, member_role = settings.pre_member_role_id, settings.member_role_id
    if not settings.is_complete or current_version is None or member_role is None:
        return AgreeOutcome(None, SETUP_NEEDED_TEXT, should_record=False)
    if is_still_pending(member.is_pending, has_screening=has_screening):
        return AgreeOutcome(None, PENDING_TEXT, should_record=False)
    is_stale = not 1 <= button_version <= current_version or (
        settings.require_current_version and button_version < current_version
    )
    if is_stale:
        return AgreeOutcome(None, stale_rules_text(settings.rules_channel_id), should_record=False)
    should_record = agreement is None or agreement.version < button_version
    change = _change(
        member,
        add=member_role,
        remove=pre_member,
        reason=f"Onboarding: agreed to the rules (version {button_version})",
    )
    if change is not None:
        reply = (
            f"Thanks for agreeing to the rules: welcome! You now have the <@&{member_role}> role."
        )
    elif should_record:
        reply = f"Thanks: you agreed to the updated rules (version {button_version})."
    else:
        reply = ALREADY_AGREED_TEXT
    return AgreeOutcome(change, reply, should_record=should_record, version=button_version)


def rules_view_text(rules: RulesDocument | None, settings: OnboardingSettings) -> str:
    """Return what "View rules" shows: the rules, or what to do when there are none."""
    if rules is None or not settings.is_complete:
        return SETUP_NEEDED_TEXT
    return rules.text


def stale_rules_text(rules_channel_id: int | None) -> str:
    """Return the reply to an "I agree" button older than the rules it stands for."""
    where = f" in <#{rules_channel_id}>" if rules_channel_id is not None else ""
    return (
        'The rules have changed since this button was posted. Press "View rules" on the '
        f'current rules message{where} to read them, then press "I agree" there.'
    )


def welcome_text(
    settings: OnboardingSettings, *, mention: str, name: str, server: str
) -> str | None:
    """Return the welcome message for a member who agreed, or None when there is none.

    The template was validated with the settings (known placeholders only, no formats),
    so formatting it cannot fail nor reach attributes.
    """
    if settings.welcome_message is None:
        return None
    return settings.welcome_message.format(mention=mention, name=name, server=server)


def check_rules_text(text: str) -> str:
    """Return ``text`` without surrounding blank space, or raise ValueError naming the limit."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("The rules text is empty: write the rules, then save.")
    if len(stripped) > RULES_TEXT_MAX:
        raise ValueError(
            f"The rules text has {len(stripped)} characters; the limit is {RULES_TEXT_MAX}."
        )
    return stripped


def setup_problems(
    settings: OnboardingSettings,
    roles: Mapping[int, RoleFacts],
    *,
    bot_top: RoleFacts | None,
    bot_permissions: int,
) -> tuple[str, ...]:
    """Return what stops onboarding from working in the guild, for an admin (empty: none).

    Checks that each setting is set, that both roles exist, and that the bot may give
    them to anyone (`shoal.kit.roles.self_role_refusal`: everyone who presses "I agree"
    gets Member, so it must be as safe as a self-assigned role).

    Args:
        settings: The guild's onboarding settings.
        roles: The guild's roles by id.
        bot_top: The bot's highest role (`shoal.kit.roles.top_position`).
        bot_permissions: The bot's guild permissions (`shoal.kit.roles.combined_permissions`).
    """
    problems: list[str] = []
    named = (
        ("pre_member_role_id", "Pre-Member role", settings.pre_member_role_id),
        ("member_role_id", "Member role", settings.member_role_id),
    )
    for field, title, role_id in named:
        if role_id is None:
            problems.append(f"The {title} is not set ({field}): pick one in /onboarding setup.")
            continue
        role = roles.get(role_id)
        if role is None:
            problems.append(f"The {title} no longer exists: pick another in /onboarding setup.")
            continue
        refusal = self_role_refusal(
            role,
            bot_top=bot_top,
            bot_permissions=bot_permissions,
            everyone=everyone_permissions(roles.values()),
        )
        if refusal is not None:
            problems.append(f"{title}: {refusal.message}")
    if settings.rules_channel_id is None:
        problems.append(
            "The rules channel is not set (rules_channel_id): pick one in /onboarding setup."
        )
    return tuple(problems)


def _entry_change(
    member: MemberFacts,
    settings: OnboardingSettings,
    agreement: Agreement | None,
    *,
    current_version: int | None,
) -> RoleChange | None:
    pre_member, member_role = settings.pre_member_role_id, settings.member_role_id
    if member.is_bot or current_version is None or not settings.is_complete:
        return None
    if pre_member is None or member_role is None:  # is_complete says not; for the type checker
        return None
    if agreement_counts(agreement, current_version=current_version, settings=settings):
        return _change(
            member,
            add=member_role,
            remove=pre_member,
            reason=f"Onboarding: agreed to the rules before (version {agreement.version})"
            if agreement is not None
            else "Onboarding",
        )
    if member_role in member.role_ids:
        return None
    return _change(member, add=pre_member, remove=None, reason="Onboarding: new member")


def _change(member: MemberFacts, *, add: int, remove: int | None, reason: str) -> RoleChange | None:
    removing = () if remove is None else (remove,)
    after = member_roles_after(member.role_ids, add=(add,), remove=removing)
    if after is None:
        return None
    held = set(member.role_ids)
    return RoleChange(
        role_ids=after,
        added=(add,) if add not in held else (),
        removed=tuple(role_id for role_id in removing if role_id in held),
        reason=reason,
    )


def _onboarding_roles(settings: OnboardingSettings) -> set[int]:
    return {
        role_id
        for role_id in (settings.pre_member_role_id, settings.member_role_id)
        if role_id is not None
    }
