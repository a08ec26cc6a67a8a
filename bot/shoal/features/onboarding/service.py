"""The onboarding feature's services on the kit: member listeners, "I agree", role changes.

Owns :class:`OnboardingService`, which the commands, buttons and listeners share:

- **members**: a join (GUILD_MEMBER_ADD) or an update (GUILD_MEMBER_UPDATE, e.g. screening
  completed) is judged by `shoal.features.onboarding.rules` (never a role while
  ``pending``) and gives Pre-Member, or Member back to a member whose agreement counts;
- **agree**: the member's clicks run one at a time (`shoal.features.onboarding.member_locks`),
  each re-reading the member through REST, so twenty clicks make one change; the
  agreement is recorded, then the swap is one PATCH with the full role list;
- **role safety**: before any PATCH the roles it adds or removes are checked against the
  bot's live standing (``kit.roles``; fetched afresh for a click, cached for joins and
  dropped on any role event), and a role it may not give is refused with the fix instead
  of failing with 50013;
- **guild facts**: screening and name, from guild events (`shoal.features.onboarding.guild_facts`).

Does not own the decisions (``rules.py``) nor the words (``rules.py``, ``texts.py``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import hikari

from shoal.features.onboarding.claims import join_claim, update_claim
from shoal.features.onboarding.guild_facts import GuildFactsStore
from shoal.features.onboarding.member_locks import MemberLocks
from shoal.features.onboarding.repository import PostgresOnboardingRepository
from shoal.features.onboarding.rules import (
    MemberFacts,
    on_agree,
    on_member_joined,
    on_member_updated,
    welcome_text,
)
from shoal.features.onboarding.settings import SETTINGS_KEY, OnboardingSettings
from shoal.features.onboarding.texts import BUSY_TEXT, cannot_give_text

if TYPE_CHECKING:
    from shoal.features.onboarding.rules import RoleChange
    from shoal.kit.guilds import GuildSeen
    from shoal.kit.services import FeatureKit

__all__ = ["FEATURE", "OnboardingService", "member_facts"]

_log = logging.getLogger(__name__)

FEATURE: Final = SETTINGS_KEY


def member_facts(member: hikari.Member) -> MemberFacts:
    """Return the facts of a hikari member (@everyone, which hikari lists, left out)."""
    guild_id = int(member.guild_id)
    pending = member.is_pending
    return MemberFacts(
        user_id=int(member.id),
        role_ids=tuple(int(role) for role in member.role_ids if int(role) != guild_id),
        is_pending=None if pending is hikari.UNDEFINED else bool(pending),
        is_bot=member.user.is_bot,
    )


def _joined_ms(member: hikari.Member) -> int | None:
    joined = member.joined_at
    return None if joined is None else int(joined.timestamp() * 1000)


class OnboardingService:
    """Everything onboarding's commands and listeners share (see the module docstring)."""

    def __init__(self, kit: FeatureKit) -> None:
        """Keep ``kit``; the clients are made on first use (a declaring kit has none)."""
        self.kit: Final = kit
        self._repository: PostgresOnboardingRepository | None = None
        self._guilds: GuildFactsStore | None = None
        self._locks: MemberLocks | None = None

    @property
    def repository(self) -> PostgresOnboardingRepository:
        """Rules and agreements in PostgreSQL."""
        if self._repository is None:
            self._repository = PostgresOnboardingRepository(self.kit.postgres)
        return self._repository

    @property
    def guilds(self) -> GuildFactsStore:
        """Guild screening and names."""
        if self._guilds is None:
            self._guilds = GuildFactsStore(self.kit)
        return self._guilds

    @property
    def locks(self) -> MemberLocks:
        """One click at a time per member."""
        if self._locks is None:
            self._locks = MemberLocks(self.kit)
        return self._locks

    async def settings_of(self, guild_id: int) -> OnboardingSettings:
        """Return the guild's onboarding settings."""
        return await self.kit.settings.get(guild_id, OnboardingSettings, FEATURE)

    async def _has_screening(self, guild_id: int, *, is_pending: bool | None) -> bool:
        """Return whether the guild screens members, asking only when ``pending`` is missing."""
        if is_pending is not None:
            return False  # the field decides by itself (rules.is_still_pending)
        return (await self.guilds.get(guild_id)).has_screening

    # -- guild and role events -------------------------------------------------------------

    def guild_seen(self, seen: GuildSeen) -> None:
        """A GUILD_CREATE or GUILD_UPDATE (a guild tap): remember its screening and name."""
        self.guilds.learn(seen)
        self.kit.roles.forget(seen.guild_id)

    async def roles_changed(self, event: hikari.RoleEvent) -> None:
        """A role was created, edited or deleted: the bot's standing must be fetched again."""
        self.kit.roles.forget(int(event.guild_id))

    # -- members ---------------------------------------------------------------------------

    @staticmethod
    def join_claim(event: hikari.MemberCreateEvent) -> tuple[str, int]:
        """Return the exactly-once claim of a join."""
        member = event.member
        return join_claim(int(event.guild_id), int(member.id), _joined_ms(member))

    @staticmethod
    def update_claim(event: hikari.MemberUpdateEvent) -> tuple[str, int]:
        """Return the exactly-once claim of an update."""
        member = event.member
        facts = member_facts(member)
        return update_claim(
            int(event.guild_id),
            facts.user_id,
            _joined_ms(member),
            is_pending=facts.is_pending,
            role_ids=facts.role_ids,
        )

    async def member_joined(self, event: hikari.MemberCreateEvent) -> None:
        """A member joined: Pre-Member (or Member back), unless still pending screening."""
        facts = member_facts(event.member)
        guild_id = int(event.guild_id)
        if facts.is_bot or facts.is_pending:
            return
        settings = await self.settings_of(guild_id)
        if not settings.is_complete:
            return
        rules = await self.repository.get_rules(guild_id)
        if rules is None:
            return
        has_screening = await self._has_screening(guild_id, is_pending=facts.is_pending)
        agreement = await self.repository.get_agreement(guild_id, facts.user_id)
        change = on_member_joined(
            facts, settings, agreement, current_version=rules.version, has_screening=has_screening
        )
        await self._apply_quietly(guild_id, facts.user_id, change)

    async def member_updated(self, event: hikari.MemberUpdateEvent) -> None:
        """A member changed: acts once their screening is complete (``pending`` false)."""
        facts = member_facts(event.member)
        guild_id = int(event.guild_id)
        if facts.is_bot:  # perhaps the bot itself: its standing may have moved
            self.kit.roles.forget(guild_id)
            return
        if facts.is_pending:
            return
        settings = await self.settings_of(guild_id)
        if not settings.is_complete:
            return
        rules = await self.repository.get_rules(guild_id)
        if rules is None:
            return
        before = event.old_member
        before_pending = None if before is None else member_facts(before).is_pending
        has_screening = await self._has_screening(guild_id, is_pending=facts.is_pending)
        agreement = await self.repository.get_agreement(guild_id, facts.user_id)
        change = on_member_updated(
            facts,
            settings,
            agreement,
            before_pending=before_pending,
            now_pending=facts.is_pending,
            current_version=rules.version,
            has_screening=has_screening,
        )
        await self._apply_quietly(guild_id, facts.user_id, change)

    async def _apply_quietly(self, guild_id: int, user_id: int, change: RoleChange | None) -> None:
        if change is None:
            return
        problem = await self.apply(guild_id, user_id, change, is_fresh=False)
        if problem is not None:
            _log.warning(
                "onboarding could not give user %d their role: %s",
                user_id,
                problem,
                extra={"guild_id": guild_id},
            )

    # -- role changes ----------------------------------------------------------------------

    async def apply(
        self, guild_id: int, user_id: int, change: RoleChange, *, is_fresh: bool
    ) -> str | None:
        """PATCH the member's full role list once, if the bot may; return why not, or None.

        Args:
            guild_id: The guild.
            user_id: The member.
            change: The role change (its complete role list).
            is_fresh: Fetch the bot's standing afresh (a click) instead of the cached one.
        """
        if is_fresh:
            self.kit.roles.forget(guild_id)
        standing = await self.kit.roles.of(guild_id)
        for role_id in (*change.added, *change.removed):
            refusal = standing.refusal(role_id)
            if refusal is not None:
                return refusal if isinstance(refusal, str) else refusal.message
        try:
            await self.kit.rest.edit_member(
                guild_id, user_id, roles=change.role_ids, reason=change.reason
            )
        except hikari.HTTPError as error:
            _log.warning(
                "could not change the roles of user %d: %s",
                user_id,
                error,
                extra={"guild_id": guild_id},
            )
            return "Discord refused the role change; try again in a moment."
        return None

    # -- "I agree" -------------------------------------------------------------------------

    async def agree(self, guild_id: int, member: hikari.Member, button_version: int) -> str:
        """Handle a press of "I agree" carrying ``button_version``; return the member's reply."""
        settings = await self.settings_of(guild_id)
        rules = await self.repository.get_rules(guild_id)
        current = None if rules is None else rules.version
        facts = member_facts(member)
        agreement = await self.repository.get_agreement(guild_id, facts.user_id)
        outcome = on_agree(
            facts,
            settings,
            button_version=button_version,
            current_version=current,
            agreement=agreement,
            has_screening=await self._has_screening(guild_id, is_pending=facts.is_pending),
        )
        if outcome.change is None and not outcome.should_record:
            return outcome.reply  # nothing to do: no lock, no REST
        async with self.locks.held(guild_id, facts.user_id) as is_held:
            if not is_held:
                return BUSY_TEXT
            return await self._agree_locked(guild_id, facts.user_id, button_version, settings)

    async def _agree_locked(
        self, guild_id: int, user_id: int, button_version: int, settings: OnboardingSettings
    ) -> str:
        # The click's roles may predate a click just handled: read the member again.
        fresh = await self.kit.rest.fetch_member(guild_id, user_id)
        facts = member_facts(fresh)
        rules = await self.repository.get_rules(guild_id)
        agreement = await self.repository.get_agreement(guild_id, user_id)
        outcome = on_agree(
            facts,
            settings,
            button_version=button_version,
            current_version=None if rules is None else rules.version,
            agreement=agreement,
            has_screening=await self._has_screening(guild_id, is_pending=facts.is_pending),
        )
        if outcome.should_record and outcome.version is not None:
            await self.repository.record_agreement(
                guild_id,
                user_id,
                outcome.version,
                agreed_at=datetime.fromtimestamp(self.kit.clock.now(), tz=UTC),
            )
        if outcome.change is None:
            return outcome.reply
        problem = await self.apply(guild_id, user_id, outcome.change, is_fresh=True)
        if problem is not None:
            _log.warning(
                "user %d agreed but could not be given the Member role: %s",
                user_id,
                problem,
                extra={"guild_id": guild_id},
            )
            return cannot_give_text(problem)
        if settings.member_role_id in outcome.change.added:
            await self._welcome(guild_id, facts, settings, display_name=fresh.display_name)
        return outcome.reply

    async def _welcome(
        self, guild_id: int, facts: MemberFacts, settings: OnboardingSettings, *, display_name: str
    ) -> None:
        if settings.welcome_message is None:
            return
        channel_id = settings.welcome_channel_id or settings.rules_channel_id
        if channel_id is None:
            return
        server = ""
        if "{server}" in settings.welcome_message:  # the name costs a lookup
            server = (await self.guilds.get(guild_id)).name
        text = welcome_text(
            settings, mention=f"<@{facts.user_id}>", name=display_name, server=server
        )
        if text is None:
            return
        try:
            await self.kit.rest.create_message(
                channel_id,
                text,
                user_mentions=[facts.user_id],
                role_mentions=False,
                mentions_everyone=False,
            )
        except hikari.HTTPError as error:
            _log.warning(
                "could not welcome user %d in channel %d: %s",
                facts.user_id,
                channel_id,
                error,
                extra={"guild_id": guild_id},
            )
