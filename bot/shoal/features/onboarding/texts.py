"""What onboarding's commands and buttons say beyond `shoal.features.onboarding.rules`. Pure.

Owns the admin replies of ``/onboarding setup|rules|post`` and the rules modal, the
rules message's embed text, and the member replies when a click cannot finish (a role
the bot may not give, another click still running). Every error says what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shoal.features.onboarding.rules import RulesDocument
    from shoal.features.onboarding.settings import OnboardingSettings

__all__ = [
    "ADMIN_ONLY_TEXT",
    "BROKEN_BUTTON_TEXT",
    "BUSY_TEXT",
    "CONFLICT_TEXT",
    "GUILD_ONLY_TEXT",
    "MODAL_TITLE",
    "RULES_TITLE",
    "VISIBILITY_REMINDER",
    "cannot_give_text",
    "no_rules_text",
    "not_posted_text",
    "post_failed_text",
    "posted_text",
    "rules_preview_text",
    "saved_text",
    "setup_refused_text",
    "setup_report_text",
]

RULES_TITLE: Final = "Server rules"
_PREVIEW_MAX: Final = 1_800  # a message holds 2,000 characters
MODAL_TITLE: Final = "Server rules"
GUILD_ONLY_TEXT: Final = "Onboarding belongs to a server: use this command in one."
ADMIN_ONLY_TEXT: Final = "Only members with the Manage Server permission can set up onboarding."
BROKEN_BUTTON_TEXT: Final = (
    "This button is broken: ask a server admin to post the rules again with /onboarding post."
)
BUSY_TEXT: Final = (
    'Your previous "I agree" is still being handled: wait a few seconds, then check your roles.'
)
CONFLICT_TEXT: Final = (
    "Someone else saved the rules after you opened this form, so your text was not saved. "
    "Run /onboarding rules again to edit the new text (copy yours first)."
)
VISIBILITY_REMINDER: Final = (
    "Check the channel permissions by hand (I do not): the Pre-Member role should see "
    "only the rules channel, and the Member role the rest of the server."
)


def setup_refused_text(refusals: Sequence[str]) -> str:
    """Return the reply when a role picked in ``/onboarding setup`` may not be given."""
    lines = "\n".join(f"- {refusal}" for refusal in refusals)
    return f"Nothing was saved: members could not be given the role you picked.\n{lines}"


def setup_report_text(
    settings: OnboardingSettings, problems: Sequence[str], rules: RulesDocument | None
) -> str:
    """Return the reply of ``/onboarding setup``: what is set, and what is still to do."""

    def role(role_id: int | None) -> str:
        return "not set" if role_id is None else f"<@&{role_id}>"

    channel = "not set" if settings.rules_channel_id is None else f"<#{settings.rules_channel_id}>"
    lines = [
        "**Onboarding**",
        f"Pre-Member role: {role(settings.pre_member_role_id)}",
        f"Member role: {role(settings.member_role_id)}",
        f"Rules channel: {channel}",
        "Rules: "
        + ("not written yet" if rules is None else f"version {rules.version}")
        + ("" if rules is None or rules.message_id is not None else ", not posted yet"),
    ]
    todo = list(problems)
    if rules is None:
        todo.append("Write the rules with /onboarding rules.")
    elif rules.message_id is None:
        todo.append("Post the rules message with /onboarding post.")
    if todo:
        lines.append("\n**Still to do**")
        lines.extend(f"- {item}" for item in todo)
    else:
        lines.append("\nEverything is ready: new members get the Pre-Member role after screening.")
    lines.append(VISIBILITY_REMINDER)
    return "\n".join(lines)


def saved_text(rules: RulesDocument, *, is_message_updated: bool | None) -> str:
    """Return the reply after the modal saved ``rules`` (None: no message was posted yet)."""
    saved = f"Saved the rules (version {rules.version})."
    if is_message_updated is None:
        return f"{saved} Post them in the rules channel with /onboarding post."
    if is_message_updated:
        return f"{saved} The rules message in <#{rules.channel_id}> shows them now."
    return (
        f"{saved} The posted rules message could not be updated (it was deleted, or I may "
        "no longer edit it): run /onboarding post to post it again."
    )


def rules_preview_text(rules: RulesDocument | None) -> str:
    """Return the reply of ``/onboarding rules``: the rules now, above the edit button."""
    if rules is None:
        return 'No rules yet: press "Write rules" to write them.'
    preview = rules.text if len(rules.text) <= _PREVIEW_MAX else rules.text[:_PREVIEW_MAX] + "…"
    return f'**Rules, version {rules.version}**\n{preview}\n\nPress "Edit rules" to change them.'


def no_rules_text() -> str:
    """Return the reply of ``/onboarding post`` before any rules were written."""
    return "There are no rules to post yet: write them with /onboarding rules first."


def not_posted_text() -> str:
    """Return the reply of ``/onboarding post`` before the roles and channel are set."""
    return "Onboarding is not set up yet: run /onboarding setup first."


def posted_text(rules: RulesDocument) -> str:
    """Return the reply after the rules message was posted."""
    return (
        f"Posted the rules (version {rules.version}) in <#{rules.channel_id}>. Editing them "
        "with /onboarding rules updates that message."
    )


def post_failed_text(channel_id: int) -> str:
    """Return the reply when the rules message could not be posted in ``channel_id``."""
    return (
        f"I could not post in <#{channel_id}>: give me View Channel, Send Messages and "
        "Embed Links there, or pick another channel with /onboarding setup."
    )


def cannot_give_text(problem: str) -> str:
    """Return a member's reply when their agreement is recorded but the role may not be given."""
    return (
        "Thanks for agreeing: it is recorded. I cannot give you the role yet because of a "
        f"problem in this server's setup: {problem} Ask a server admin to fix it "
        '(/onboarding setup shows it), then press "I agree" again.'
    )
