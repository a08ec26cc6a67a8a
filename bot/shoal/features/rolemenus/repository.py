"""Role menus' storage in PostgreSQL: menus and their options, per guild.

Owns the queries on the tables of ``migrations/0001_create_role_menus.sql``: create (at
most the guild's ``max_menus``, counted under a per-guild transaction lock so two admins
creating at once cannot pass it), edit (options replaced as a whole, in one transaction;
``edit_menu`` reads and writes under a row lock),
delete, list, get (always scoped to the guild: a menu id from another guild's custom_id
finds nothing), attach the posted message, and disable the options of a deleted role.
Refuses a menu whose shape is invalid even as a draft (`shoal.features.rolemenus.rules.
menu_problems` with ``is_draft``: a menu is stored before its roles are added);
checking its roles needs the guild's live roles and is the caller's (``role_problems``).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final

from shoal.features.rolemenus.rules import (
    GroupMode,
    MenuKind,
    MenuOption,
    MenuSpec,
    RoleMenu,
    menu_problems,
)
from shoal.storage.guild_settings import check_guild_id
from shoal.storage.migrating import load_migrations

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    from shoal.storage.migration_plans import Migration

__all__ = [
    "MENU_LOCK_CLASS",
    "MODULE",
    "PostgresRoleMenusRepository",
    "guild_lock_key",
    "rolemenus_migrations",
]

#: The migration module name (``shoal_schema_migrations.module``).
MODULE: Final = "rolemenus"
_PACKAGE: Final = "shoal.features.rolemenus.migrations"
#: First half of the per-guild advisory lock key: "RMNU" in ASCII, easy to spot in pg_locks.
MENU_LOCK_CLASS: Final = 0x52_4D_4E_55
_LOCK_OBJECT_MASK: Final = 0x7FFF_FFFF
_MENU_COLUMNS: Final = (
    "menu_id, guild_id, title, kind, mode, min_values, max_values, channel_id, message_id"
)
_SELECT_MENU: Final = f"SELECT {_MENU_COLUMNS} FROM role_menus WHERE guild_id = $1 AND menu_id = $2"  # noqa: S608 - constants only
_LOCK_MENU: Final = f"{_SELECT_MENU} FOR UPDATE"
_LIST_MENUS: Final = f"SELECT {_MENU_COLUMNS} FROM role_menus WHERE guild_id = $1 ORDER BY menu_id"  # noqa: S608 - constants only
_SELECT_OPTIONS: Final = """
SELECT menu_id, role_id, label, description, emoji, is_disabled FROM role_menu_options
WHERE menu_id = ANY($1::bigint[]) ORDER BY menu_id, position
"""
_LOCK_GUILD: Final = "SELECT pg_advisory_xact_lock($1, $2)"
_COUNT_MENUS: Final = "SELECT count(*) FROM role_menus WHERE guild_id = $1"
_INSERT_MENU: Final = f"""
INSERT INTO role_menus (guild_id, title, kind, mode, min_values, max_values)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING {_MENU_COLUMNS}
"""  # noqa: S608 - constants only
_UPDATE_MENU: Final = f"""
UPDATE role_menus SET title = $3, kind = $4, mode = $5, min_values = $6, max_values = $7,
    updated_at = now()
WHERE guild_id = $1 AND menu_id = $2
RETURNING {_MENU_COLUMNS}
"""  # noqa: S608 - constants only
_DELETE_OPTIONS: Final = "DELETE FROM role_menu_options WHERE menu_id = $1"
_INSERT_OPTIONS: Final = """
INSERT INTO role_menu_options
    (menu_id, guild_id, role_id, position, label, description, emoji, is_disabled)
SELECT $1, $2, option.role_id, option.position, option.label, option.description,
    option.emoji, option.is_disabled
FROM unnest($3::bigint[], $4::smallint[], $5::text[], $6::text[], $7::text[], $8::boolean[])
    AS option (role_id, position, label, description, emoji, is_disabled)
"""
_DELETE_MENU: Final = (
    f"DELETE FROM role_menus WHERE guild_id = $1 AND menu_id = $2 RETURNING {_MENU_COLUMNS}"  # noqa: S608 - constants only
)
_ATTACH_MESSAGE: Final = f"""
UPDATE role_menus SET channel_id = $3, message_id = $4, updated_at = now()
WHERE guild_id = $1 AND menu_id = $2
RETURNING {_MENU_COLUMNS}
"""  # noqa: S608 - constants only
_DISABLE_ROLE: Final = """
UPDATE role_menu_options SET is_disabled = true
WHERE guild_id = $1 AND role_id = $2 AND NOT is_disabled
RETURNING menu_id
"""
_FORGET_GUILD: Final = "DELETE FROM role_menus WHERE guild_id = $1"


def rolemenus_migrations() -> tuple[Migration, ...]:
    """Return role menus' migrations, for ``shoal migrate`` (after core's)."""
    return load_migrations(MODULE, _PACKAGE)


def guild_lock_key(guild_id: int) -> tuple[int, int]:
    """Return the two-int advisory lock key serialising menu creation in ``guild_id``.

    Two guilds may share a key (the second half is a 31-bit hash): they then only wait for
    each other's creations, which take milliseconds.
    """
    return MENU_LOCK_CLASS, zlib.crc32(str(guild_id).encode()) & _LOCK_OBJECT_MASK


class PostgresRoleMenusRepository:
    """Role menus of every guild, read and written through an asyncpg pool."""

    __slots__ = ("_pool",)

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        """Use ``pool`` (its current schema holds the role menu tables)."""
        self._pool = pool

    async def create_menu(
        self, guild_id: int, spec: MenuSpec, *, max_menus: int
    ) -> RoleMenu | None:
        """Store a new menu; return it, or None when the guild already has ``max_menus``.

        Raises:
            ValueError: ``spec`` is not a valid menu (the message lists every problem).
        """
        guild = check_guild_id(guild_id)
        _check(spec)
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(_LOCK_GUILD, *guild_lock_key(guild))
            if await connection.fetchval(_COUNT_MENUS, guild) >= max_menus:
                return None
            row = await connection.fetchrow(_INSERT_MENU, guild, *_spec_columns(spec))
            if row is None:  # an INSERT ... RETURNING always returns its row
                raise RuntimeError("role_menus insert returned no row")
            await _insert_options(connection, row["menu_id"], guild, spec.options)
        return _menu(row, spec.options)

    async def update_menu(self, guild_id: int, menu_id: int, spec: MenuSpec) -> RoleMenu | None:
        """Replace the menu's settings and options; None when the guild has no such menu.

        The options are stored as given (``is_disabled`` included): the caller checked
        their roles against the guild now.

        Raises:
            ValueError: ``spec`` is not a valid menu.
        """
        guild = check_guild_id(guild_id)
        _check(spec)
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(_UPDATE_MENU, guild, menu_id, *_spec_columns(spec))
            if row is None:
                return None
            await connection.execute(_DELETE_OPTIONS, menu_id)
            await _insert_options(connection, menu_id, guild, spec.options)
        return _menu(row, spec.options)

    async def edit_menu(
        self, guild_id: int, menu_id: int, edit: Callable[[RoleMenu], MenuSpec]
    ) -> RoleMenu | None:
        """Replace the menu by ``edit(menu)``, the menu locked meanwhile; None: no such menu.

        Two admins adding roles at once each see the other's change (the row is locked
        from the read to the write), instead of the last write dropping the first.

        Raises:
            ValueError: ``edit`` raised it, or returned an invalid menu (nothing changes).
        """
        guild = check_guild_id(guild_id)
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(_LOCK_MENU, guild, menu_id)
            if row is None:
                return None
            (menu,) = await _with_options(connection, [row])
            spec = edit(menu)
            _check(spec)
            row = await connection.fetchrow(_UPDATE_MENU, guild, menu_id, *_spec_columns(spec))
            if row is None:  # locked above: it cannot have gone
                raise RuntimeError("role_menus update returned no row")
            await connection.execute(_DELETE_OPTIONS, menu_id)
            await _insert_options(connection, menu_id, guild, spec.options)
        return _menu(row, spec.options)

    async def get_menu(self, guild_id: int, menu_id: int) -> RoleMenu | None:
        """Return the guild's menu ``menu_id``, or None (deleted, or another guild's)."""
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(_SELECT_MENU, check_guild_id(guild_id), menu_id)
            if row is None:
                return None
            menus = await _with_options(connection, [row])
        return menus[0]

    async def list_menus(self, guild_id: int) -> tuple[RoleMenu, ...]:
        """Return the guild's menus, oldest first."""
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_LIST_MENUS, check_guild_id(guild_id))
            return await _with_options(connection, rows)

    async def delete_menu(self, guild_id: int, menu_id: int) -> RoleMenu | None:
        """Delete the menu and its options; return what was deleted (to delete its message)."""
        guild = check_guild_id(guild_id)
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(_SELECT_MENU, guild, menu_id)
            if row is None:
                return None
            (menu,) = await _with_options(connection, [row])
            await connection.execute(_DELETE_MENU, guild, menu_id)
        return menu

    async def attach_message(
        self, guild_id: int, menu_id: int, *, channel_id: int, message_id: int
    ) -> RoleMenu | None:
        """Remember where the menu was posted; None when the guild has no such menu."""
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(
                _ATTACH_MESSAGE, check_guild_id(guild_id), menu_id, channel_id, message_id
            )
            if row is None:
                return None
            menus = await _with_options(connection, [row])
        return menus[0]

    async def disable_role(self, guild_id: int, role_id: int) -> tuple[int, ...]:
        """Disable every option of the deleted role ``role_id`` in the guild's menus.

        Returns:
            The menus that had an enabled option for it (to re-render their messages and
            tell admins), in id order; empty when none had (a repeat is harmless).
        """
        rows = await self._pool.fetch(_DISABLE_ROLE, check_guild_id(guild_id), role_id)
        return tuple(sorted({row["menu_id"] for row in rows}))

    async def forget_guild(self, guild_id: int) -> int:
        """Delete every menu of the guild (with its options); return how many."""
        status = await self._pool.execute(_FORGET_GUILD, check_guild_id(guild_id))
        return int(status.rpartition(" ")[2])


def _check(spec: MenuSpec) -> None:
    # A stored menu may be a draft (no roles yet); posting checks the complete shape.
    problems = menu_problems(spec, is_draft=True)
    if problems:
        raise ValueError(" ".join(problems))


def _spec_columns(spec: MenuSpec) -> tuple[str, str, str, int, int | None]:
    return spec.title, spec.kind.value, spec.mode.value, spec.min_values, spec.max_values


async def _insert_options(
    connection: PoolConnectionProxy[asyncpg.Record],
    menu_id: int,
    guild_id: int,
    options: Sequence[MenuOption],
) -> None:
    await connection.execute(
        _INSERT_OPTIONS,
        menu_id,
        guild_id,
        [option.role_id for option in options],
        list(range(len(options))),
        [option.label for option in options],
        [option.description for option in options],
        [option.emoji for option in options],
        [option.is_disabled for option in options],
    )


async def _with_options(
    connection: PoolConnectionProxy[asyncpg.Record], rows: Sequence[asyncpg.Record]
) -> tuple[RoleMenu, ...]:
    if not rows:
        return ()
    options: dict[int, list[MenuOption]] = {row["menu_id"]: [] for row in rows}
    for option in await connection.fetch(_SELECT_OPTIONS, list(options)):
        options[option["menu_id"]].append(
            MenuOption(
                role_id=option["role_id"],
                label=option["label"],
                description=option["description"],
                emoji=option["emoji"],
                is_disabled=option["is_disabled"],
            )
        )
    return tuple(_menu(row, options[row["menu_id"]]) for row in rows)


def _menu(row: asyncpg.Record, options: Sequence[MenuOption]) -> RoleMenu:
    return RoleMenu(
        menu_id=row["menu_id"],
        guild_id=row["guild_id"],
        spec=MenuSpec(
            title=row["title"],
            kind=MenuKind(row["kind"]),
            mode=GroupMode(row["mode"]),
            options=tuple(options),
            min_values=row["min_values"],
            max_values=row["max_values"],
        ),
        channel_id=row["channel_id"],
        message_id=row["message_id"],
    )
