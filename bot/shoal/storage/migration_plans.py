"""What a migration is, and which ones to apply: pure decisions, no I/O.

Owns the :class:`Migration` value, its checksum, and the rules a set of migrations must
follow: per module, versions run 1, 2, 3... without gaps or duplicates; a migration already
applied never changes; none is applied out of order. Does not own reading ``.sql`` files or
talking to PostgreSQL (see `shoal.storage.migrating`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "AppliedMigration",
    "Migration",
    "MigrationError",
    "migration_checksum",
    "ordered_migrations",
    "pending_migrations",
    "unknown_applied",
]

#: Module names are Python package names of features (``core`` for Shoal's own tables).
_MODULE_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_MIGRATION_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_]{0,99}$")
#: Characters of a checksum quoted in messages: enough to tell two apart.
_CHECKSUM_SHOWN: Final = 12


class MigrationError(Exception):
    """Migrations are inconsistent (with each other or with the database); nothing was done."""


def migration_checksum(sql: str) -> str:
    """Return the SHA-256 (hex) of ``sql``; a CRLF checkout of the same file is no change."""
    normalised = sql.replace("\r\n", "\n")
    return hashlib.sha256(normalised.encode()).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    """One versioned SQL script of one module."""

    module: str
    """The module it belongs to: ``core`` or a feature's name."""
    version: int
    """Its place in the module's sequence, from 1."""
    name: str
    """What it does, in snake case (``create_guild_settings``)."""
    sql: str = dataclasses.field(repr=False)
    """The statements, run in one transaction."""

    def __post_init__(self) -> None:
        """Refuse names and versions that could not be stored or ordered."""
        if not _MODULE_NAME.match(self.module):
            raise MigrationError(f"module name {self.module!r} must be lowercase snake case")
        if self.version < 1:
            raise MigrationError(f"{self.label}: versions start at 1, got {self.version}")
        if not _MIGRATION_NAME.match(self.name):
            raise MigrationError(f"{self.label}: name {self.name!r} must be lowercase snake case")

    @property
    def label(self) -> str:
        """``module/version``, as messages and logs show it (``core/0001``)."""
        return f"{self.module}/{self.version:04d}"

    @property
    def checksum(self) -> str:
        """See :func:`migration_checksum`."""
        return migration_checksum(self.sql)


@dataclasses.dataclass(frozen=True, slots=True)
class AppliedMigration:
    """A row of ``shoal_schema_migrations``: a migration the database already has."""

    module: str
    """The module it belongs to."""
    version: int
    """Its version within the module."""
    name: str
    """Its name when it was applied."""
    checksum: str
    """The checksum of its SQL when it was applied."""

    @property
    def label(self) -> str:
        """``module/version``, as messages and logs show it."""
        return f"{self.module}/{self.version:04d}"


def ordered_migrations(migrations: Iterable[Migration]) -> tuple[Migration, ...]:
    """Check every module's sequence and return the migrations in the order to apply them.

    Modules keep the order in which they first appear (``core`` is given first, so features
    can refer to its tables); within a module, versions ascend.

    Raises:
        MigrationError: A module has a duplicate version, or its versions do not run
            1, 2, 3... without gaps.
    """
    by_module: dict[str, list[Migration]] = {}
    for migration in migrations:
        by_module.setdefault(migration.module, []).append(migration)
    ordered: list[Migration] = []
    for module, sequence in by_module.items():
        sequence.sort(key=lambda m: m.version)
        _check_sequence(module, sequence)
        ordered.extend(sequence)
    return tuple(ordered)


def _check_sequence(module: str, sequence: Sequence[Migration]) -> None:
    versions = [m.version for m in sequence]
    for earlier, later in itertools.pairwise(sequence):
        if earlier.version == later.version:
            raise MigrationError(
                f"{later.label} is defined twice ({earlier.name!r} and {later.name!r}): "
                "each version of a module must be unique"
            )
    missing = sorted(set(range(1, versions[-1] + 1)) - set(versions))
    if missing:
        shown = ", ".join(f"{module}/{version:04d}" for version in missing)
        raise MigrationError(
            f"module {module!r} has a gap in its migration versions: {shown} missing "
            f"(versions must run 1, 2, 3... up to {versions[-1]})"
        )


def pending_migrations(
    migrations: Iterable[Migration], applied: Iterable[AppliedMigration]
) -> tuple[Migration, ...]:
    """Return the migrations not applied yet, in the order to apply them.

    Args:
        migrations: Every module's migrations, as the code defines them.
        applied: What ``shoal_schema_migrations`` holds.

    Raises:
        MigrationError: The sequences are broken (see :func:`ordered_migrations`), an applied
            migration's SQL changed since, or a migration is pending while a later version
            of its module is already applied.
    """
    ordered = ordered_migrations(migrations)
    done = {(a.module, a.version): a for a in applied}
    for migration in ordered:
        record = done.get((migration.module, migration.version))
        if record is not None and record.checksum != migration.checksum:
            raise MigrationError(
                f"migration {migration.label} ({migration.name}) changed after it was applied: "
                f"its checksum is {migration.checksum[:_CHECKSUM_SHOWN]} in the code but "
                f"{record.checksum[:_CHECKSUM_SHOWN]} in the database. An applied migration "
                "must never change: restore it, and put the change in a new migration"
            )
    pending = tuple(m for m in ordered if (m.module, m.version) not in done)
    latest: dict[str, int] = {}
    for record in done.values():
        latest[record.module] = max(latest.get(record.module, 0), record.version)
    for migration in pending:
        if migration.version < latest.get(migration.module, 0):
            raise MigrationError(
                f"migration {migration.label} ({migration.name}) is pending but "
                f"{migration.module}/{latest[migration.module]:04d} is already applied: "
                "migrations of a module must be applied in order"
            )
    return pending


def unknown_applied(
    migrations: Iterable[Migration], applied: Iterable[AppliedMigration]
) -> tuple[AppliedMigration, ...]:
    """Return the applied migrations the code does not define (a newer release applied them).

    Not an error: rolling back to an older release must still be able to run ``shoal migrate``.
    """
    known = {(m.module, m.version) for m in migrations}
    return tuple(a for a in applied if (a.module, a.version) not in known)
