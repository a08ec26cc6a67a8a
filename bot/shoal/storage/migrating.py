"""Applying versioned SQL migrations: safely when several ``shoal migrate`` run at once.

Owns reading a module's migrations from its package (files named ``0001_create_x.sql``,
see `shoal.storage.migrations` for core's), the ``shoal_schema_migrations`` table, and the
runner: it takes a PostgreSQL advisory lock, so concurrent runners queue up and the later
ones find nothing left to do, then applies each pending migration in its own transaction.
Does not own the rules deciding what is pending or broken (see
`shoal.storage.migration_plans`).

Everything lives in the connection's current schema (the first on its ``search_path``):
tests give each run its own schema, and two bots may share a database in two schemas.
Migration files must not control transactions (``BEGIN``/``COMMIT``), change the
``search_path``, or use statements that cannot run in a transaction (``CREATE INDEX
CONCURRENTLY``).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import re
import time
import zlib
from typing import TYPE_CHECKING, Final

import asyncpg

from shoal.storage.migration_plans import (
    AppliedMigration,
    Migration,
    MigrationError,
    ordered_migrations,
    pending_migrations,
    unknown_applied,
)
from shoal.storage.postgres import close_pool, create_pool

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from shoal.config import PostgresSettings

__all__ = [
    "CORE_MODULE",
    "MIGRATION_LOCK_CLASS",
    "apply_migrations",
    "core_migrations",
    "load_migrations",
    "migrate",
    "migration_lock_key",
]

_log = logging.getLogger(__name__)

#: The module name of Shoal's own tables.
CORE_MODULE: Final = "core"
_CORE_PACKAGE: Final = "shoal.storage.migrations"
_FILE_NAME: Final = re.compile(r"^(\d{4})_([a-z0-9][a-z0-9_]*)\.sql$")
#: First half of the advisory lock key, fixed: "SHOL" in ASCII, easy to spot in pg_locks.
#: The second half comes from the schema (see :func:`migration_lock_key`).
MIGRATION_LOCK_CLASS: Final = 0x53_48_4F_4C
_LOCK_OBJECT_MASK: Final = 0x7FFF_FFFF  # a non-negative int4, shown as is in pg_locks.objid
_CREATE_TABLE: Final = """
CREATE TABLE IF NOT EXISTS shoal_schema_migrations (
    module text NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (module, version)
)
"""
_SELECT_APPLIED: Final = "SELECT module, version, name, checksum FROM shoal_schema_migrations"
_INSERT_APPLIED: Final = (
    "INSERT INTO shoal_schema_migrations (module, version, name, checksum) VALUES ($1, $2, $3, $4)"
)


def load_migrations(module: str, package: str) -> tuple[Migration, ...]:
    """Read a module's migrations from the ``.sql`` files of ``package``, in version order.

    Args:
        module: The module's name (``core``, or a feature's name).
        package: The importable package holding the files, e.g.
            ``shoal.features.xp.migrations``; every ``.sql`` file in it must be named
            ``NNNN_snake_case_name.sql``.

    Raises:
        MigrationError: A file is misnamed, the package holds none, or the versions are
            broken (see `shoal.storage.migration_plans.ordered_migrations`).
    """
    migrations: list[Migration] = []
    for entry in importlib.resources.files(package).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(
                f"{package}: {entry.name!r} is not a migration file name: use "
                "NNNN_snake_case_name.sql, e.g. 0001_create_guild_settings.sql"
            )
        sql = entry.read_text(encoding="utf-8")
        migrations.append(Migration(module, int(match[1]), match[2], sql))
    if not migrations:
        raise MigrationError(f"{package}: no migration files (NNNN_name.sql) found")
    return ordered_migrations(migrations)


def core_migrations() -> tuple[Migration, ...]:
    """Return Shoal's own migrations (module ``core``): guild settings and the like."""
    return load_migrations(CORE_MODULE, _CORE_PACKAGE)


def migration_lock_key(schema: str) -> tuple[int, int]:
    """Return the two-int advisory lock key guarding migrations of ``schema``.

    The first half is fixed; the second is derived from the schema, so runners of one
    schema exclude each other while other schemas (parallel tests) do not wait for them.
    """
    return MIGRATION_LOCK_CLASS, zlib.crc32(schema.encode()) & _LOCK_OBJECT_MASK


async def apply_migrations(
    pool: asyncpg.Pool[asyncpg.Record], migrations: Iterable[Migration]
) -> list[Migration]:
    """Apply the pending ``migrations``, each in its own transaction; safe to run concurrently.

    Holds an advisory lock (see :func:`migration_lock_key`) on one connection of ``pool``
    while it works: a concurrent runner waits for it (within the pool's command timeout),
    then finds nothing left to do.

    Args:
        pool: Connections to the database; its current schema receives the tables.
        migrations: Every module's migrations, ``core`` first (see
            `shoal.storage.migration_plans.ordered_migrations` for the order).

    Returns:
        The migrations applied by this call, in order (empty when there was nothing to do).

    Raises:
        MigrationError: The migrations are inconsistent with each other or the database
            (nothing was applied), or one failed (it was rolled back; those before it stay).
    """
    known = ordered_migrations(migrations)  # refuse broken sequences before any I/O
    async with pool.acquire() as connection:
        schema = await connection.fetchval("SELECT current_schema()")
        if schema is None:
            raise MigrationError("no schema to migrate: the search_path names no existing schema")
        key = migration_lock_key(schema)
        await connection.execute("SELECT pg_advisory_lock($1, $2)", *key)
        try:
            return await _apply_locked(connection, known, schema)
        finally:
            # If this fails the session is broken, and the server drops its locks with it.
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await connection.execute("SELECT pg_advisory_unlock($1, $2)", *key)


async def _apply_locked(
    connection: asyncpg.pool.PoolConnectionProxy[asyncpg.Record],
    known: Sequence[Migration],
    schema: str,
) -> list[Migration]:
    await connection.execute(_CREATE_TABLE)
    applied = [
        AppliedMigration(row["module"], row["version"], row["name"], row["checksum"])
        for row in await connection.fetch(_SELECT_APPLIED)
    ]
    for record in unknown_applied(known, applied):
        _log.warning(
            "migration %s (%s) is applied in schema %s but unknown to this release",
            record.label,
            record.name,
            schema,
        )
    done: list[Migration] = []
    for migration in pending_migrations(known, applied):
        started_s = time.perf_counter()
        try:
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    _INSERT_APPLIED,
                    migration.module,
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
        except asyncpg.PostgresError as exc:
            raise MigrationError(
                f"migration {migration.label} ({migration.name}) failed and was rolled back: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        elapsed_ms = (time.perf_counter() - started_s) * 1000
        _log.info(
            "applied migration %s (%s) in schema %s in %.0f ms",
            migration.label,
            migration.name,
            schema,
            elapsed_ms,
        )
        done.append(migration)
    return done


async def migrate(settings: PostgresSettings, modules: Iterable[Sequence[Migration]] = ()) -> int:
    """Bring the database up to date: core's migrations, then each module's (``shoal migrate``).

    Args:
        settings: Where the database is; the DSN's ``search_path`` (if any) picks the schema.
        modules: Each feature module's migrations (e.g. from :func:`load_migrations`), in
            the order features are registered; core's are always applied first.

    Returns:
        How many migrations this call applied (0 when the database was up to date, or when
        a concurrent runner applied them).

    Raises:
        StorageUnavailableError: PostgreSQL cannot be reached (names ``SHOAL_POSTGRES_DSN``).
        MigrationError: See :func:`apply_migrations`.
    """
    migrations = [*core_migrations(), *(m for module in modules for m in module)]
    # No command timeout: DDL on a big table, or waiting for another runner, may take minutes.
    pool = await create_pool(settings, application_name="shoal-migrate", command_timeout_s=None)
    try:
        applied = await apply_migrations(pool, migrations)
    finally:
        await close_pool(pool)
    _log.info("database up to date: %d migration(s) applied", len(applied))
    return len(applied)
