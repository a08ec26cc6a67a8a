"""Onboarding: new members see only the rules until they agree, then become members.

The flow: a member who joins (after Discord's membership screening, never while
``pending``) gets the Pre-Member role, which sees only the rules channel. An admin posts
the rules message (its text set through a modal and versioned) with "View rules" and
"I agree" buttons; agreeing swaps Pre-Member for Member in one idempotent PATCH and
records the agreement, so a member who rejoins gets Member back.

Modules: `shoal.features.onboarding.settings` (per-guild settings),
`shoal.features.onboarding.rules` (every decision and reply, pure),
`shoal.features.onboarding.components` (the arguments each persistent button carries),
`shoal.features.onboarding.repository` (rules text and agreements in PostgreSQL) and
``migrations/``. Commands, buttons and listeners are wired on top of these.
"""

from __future__ import annotations

__all__: list[str] = []
