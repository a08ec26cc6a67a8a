"""Onboarding's storage in PostgreSQL: each guild's versioned rules, and who agreed.

Owns the queries on the tables of ``migrations/0001_create_onboarding.sql``: the rules
text changes only by compare-and-swap on the version the editor read (two admins saving
at once: one wins, the other is told to reload); an agreement is one idempotent upsert
that keeps the highest version (a repeated click, or two pods handling one click, store
one row; a late, older click never lowers it); a user or a whole guild can be forgotten.
Every call is one statement, so no transaction spans an await on anything but
PostgreSQL. Does not own the decisions (`shoal.features.onboarding.rules`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal.features.onboarding.rules import Agreement, RulesDocument, check_rules_text
from shoal.storage.guild_settings import check_guild_id
from shoal.storage.migrating import load_migrations

if TYPE_CHECKING:
    from datetime import datetime

    import asyncpg

    from shoal.storage.migration_plans import Migration

__all__ = ["MODULE", "PostgresOnboardingRepository", "onboarding_migrations"]

#: The migration module name (``shoal_schema_migrations.module``).
MODULE: Final = "onboarding"
_PACKAGE: Final = "shoal.features.onboarding.migrations"
_VERSION_MAX: Final = 2**31 - 1  # integer columns
_RULES_COLUMNS: Final = "guild_id, version, text, updated_at, channel_id, message_id"
_SELECT_RULES: Final = f"SELECT {_RULES_COLUMNS} FROM onboarding_rules WHERE guild_id = $1"  # noqa: S608 - constants only
#: The first text of a guild: nothing happens when another admin saved one first.
_INSERT_RULES: Final = f"""
INSERT INTO onboarding_rules (guild_id, version, text) VALUES ($1, 1, $2)
ON CONFLICT (guild_id) DO NOTHING
RETURNING {_RULES_COLUMNS}
"""  # noqa: S608 - constants only
#: Compare-and-swap: changes the text only if nobody saved since ``$2`` was read.
_UPDATE_RULES: Final = f"""
UPDATE onboarding_rules SET version = version + 1, text = $3, updated_at = now()
WHERE guild_id = $1 AND version = $2
RETURNING {_RULES_COLUMNS}
"""  # noqa: S608 - constants only
_ATTACH_MESSAGE: Final = f"""
UPDATE onboarding_rules SET channel_id = $2, message_id = $3 WHERE guild_id = $1
RETURNING {_RULES_COLUMNS}
"""  # noqa: S608 - constants only
_SELECT_AGREEMENT: Final = (
    "SELECT version, agreed_at FROM onboarding_agreements WHERE guild_id = $1 AND user_id = $2"
)
#: Stores an agreement unless one for the same or a higher version is stored already.
_UPSERT_AGREEMENT: Final = """
INSERT INTO onboarding_agreements AS stored (guild_id, user_id, version, agreed_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (guild_id, user_id) DO UPDATE
SET version = EXCLUDED.version, agreed_at = EXCLUDED.agreed_at
WHERE stored.version < EXCLUDED.version
RETURNING version, agreed_at
"""
_FORGET_USER: Final = "DELETE FROM onboarding_agreements WHERE user_id = $1"
_FORGET_USER_IN_GUILD: Final = (
    "DELETE FROM onboarding_agreements WHERE user_id = $1 AND guild_id = $2"
)
_FORGET_GUILD_AGREEMENTS: Final = "DELETE FROM onboarding_agreements WHERE guild_id = $1"
_FORGET_GUILD_RULES: Final = "DELETE FROM onboarding_rules WHERE guild_id = $1"


def onboarding_migrations() -> tuple[Migration, ...]:
    """Return onboarding's migrations, for ``shoal migrate`` (after core's)."""
    return load_migrations(MODULE, _PACKAGE)


class PostgresOnboardingRepository:
    """Onboarding's rules and agreements, read and written through an asyncpg pool."""

    __slots__ = ("_pool",)

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        """Use ``pool`` (its current schema holds onboarding's tables)."""
        self._pool = pool

    async def get_rules(self, guild_id: int) -> RulesDocument | None:
        """Return the guild's rules, or None when it has never saved any."""
        row = await self._pool.fetchrow(_SELECT_RULES, check_guild_id(guild_id))
        return None if row is None else _rules(row)

    async def save_rules(
        self, guild_id: int, text: str, *, expected_version: int
    ) -> RulesDocument | None:
        """Save new rules text if the stored version is still ``expected_version``.

        Args:
            guild_id: The guild.
            text: The new text (surrounding blank space is dropped; see
                `shoal.features.onboarding.rules.check_rules_text`).
            expected_version: The version the admin edited (what the modal was opened
                with): 0 for a guild with no rules yet.

        Returns:
            The saved rules (version ``expected_version + 1``), or None when someone else
            saved first (the version moved on, or rules exist though 0 was expected):
            reload, and let the admin edit the new text.

        Raises:
            ValueError: The text is empty or too long, or ``expected_version`` is negative.
        """
        checked = check_rules_text(text)
        guild = check_guild_id(guild_id)
        if not 0 <= expected_version < _VERSION_MAX:
            raise ValueError(
                f"expected_version must be 0 to {_VERSION_MAX - 1}, got {expected_version}"
            )
        if expected_version == 0:
            row = await self._pool.fetchrow(_INSERT_RULES, guild, checked)
        else:
            row = await self._pool.fetchrow(_UPDATE_RULES, guild, expected_version, checked)
        return None if row is None else _rules(row)

    async def attach_message(
        self, guild_id: int, *, channel_id: int, message_id: int
    ) -> RulesDocument | None:
        """Remember where the rules message was posted; None when the guild has no rules."""
        row = await self._pool.fetchrow(
            _ATTACH_MESSAGE, check_guild_id(guild_id), channel_id, message_id
        )
        return None if row is None else _rules(row)

    async def get_agreement(self, guild_id: int, user_id: int) -> Agreement | None:
        """Return the member's agreement in the guild, or None when they never agreed."""
        row = await self._pool.fetchrow(_SELECT_AGREEMENT, check_guild_id(guild_id), user_id)
        return None if row is None else Agreement(row["version"], row["agreed_at"])

    async def record_agreement(
        self, guild_id: int, user_id: int, version: int, *, agreed_at: datetime
    ) -> Agreement:
        """Record that the member agreed to ``version`` at ``agreed_at``; idempotent.

        Returns:
            The stored agreement: this one, or the one already stored when it was for the
            same or a higher version (then nothing changed, ``agreed_at`` included).

        Raises:
            ValueError: ``version`` is not 1 or more.
        """
        if not 1 <= version <= _VERSION_MAX:
            raise ValueError(f"version must be 1 to {_VERSION_MAX}, got {version}")
        guild = check_guild_id(guild_id)
        row = await self._pool.fetchrow(_UPSERT_AGREEMENT, guild, user_id, version, agreed_at)
        if row is None:  # kept the stored one; it is committed (the upsert waited for it)
            row = await self._pool.fetchrow(_SELECT_AGREEMENT, guild, user_id)
        if row is None:  # deleted in between by a forget: say what was asked
            return Agreement(version, agreed_at)
        return Agreement(row["version"], row["agreed_at"])

    async def forget_user(self, user_id: int, *, guild_id: int | None = None) -> int:
        """Delete the user's agreements (in every guild, or one); return how many."""
        if guild_id is None:
            status = await self._pool.execute(_FORGET_USER, user_id)
        else:
            status = await self._pool.execute(_FORGET_USER_IN_GUILD, user_id, guild_id)
        return _deleted(status)

    async def forget_guild(self, guild_id: int) -> int:
        """Delete everything stored for the guild (rules and agreements); return the rows."""
        guild = check_guild_id(guild_id)
        async with self._pool.acquire() as connection, connection.transaction():
            agreements = _deleted(await connection.execute(_FORGET_GUILD_AGREEMENTS, guild))
            rules = _deleted(await connection.execute(_FORGET_GUILD_RULES, guild))
        return agreements + rules


def _rules(row: asyncpg.Record) -> RulesDocument:
    return RulesDocument(
        guild_id=row["guild_id"],
        version=row["version"],
        text=row["text"],
        updated_at=row["updated_at"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
    )


def _deleted(status: str) -> int:
    """Return the row count of a ``DELETE n`` command status."""
    return int(status.rpartition(" ")[2])
