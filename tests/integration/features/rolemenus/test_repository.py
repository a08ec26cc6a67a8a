"""Role menus' storage: CRUD scoped to the guild, the per-guild cap, deleted roles."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING

import pytest

from shoal.features.rolemenus.repository import (
    PostgresRoleMenusRepository,
    rolemenus_migrations,
)
from shoal.features.rolemenus.rules import GroupMode, MenuKind, MenuOption, MenuSpec
from shoal.storage.migrating import apply_migrations, core_migrations

if TYPE_CHECKING:
    import asyncpg

_GUILD = 81_384_788_765_712_384
_OTHER_GUILD = 81_384_788_765_712_385
_A, _B, _C = 71_000_000_000_000_001, 71_000_000_000_000_002, 71_000_000_000_000_003
_SPEC = MenuSpec(
    title="Colours",
    kind=MenuKind.SELECT,
    mode=GroupMode.MULTIPLE,
    options=(
        MenuOption(_A, "Red", description="The red one", emoji="🟥"),
        MenuOption(_B, "Green"),
        MenuOption(_C, "Blue"),
    ),
    min_values=0,
    max_values=2,
)


@pytest.fixture
async def repository(
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> PostgresRoleMenusRepository:
    await apply_migrations(postgres_pool, [*core_migrations(), *rolemenus_migrations()])
    return PostgresRoleMenusRepository(postgres_pool)


async def test_create_menu_round_trips_when_read_back(
    repository: PostgresRoleMenusRepository,
) -> None:
    created = await repository.create_menu(_GUILD, _SPEC, max_menus=25)

    assert created is not None
    assert created.spec == _SPEC
    assert created.guild_id == _GUILD
    assert await repository.get_menu(_GUILD, created.menu_id) == created
    assert await repository.list_menus(_GUILD) == (created,)


async def test_get_menu_finds_nothing_when_asked_for_another_guilds_menu(
    repository: PostgresRoleMenusRepository,
) -> None:
    created = await repository.create_menu(_GUILD, _SPEC, max_menus=25)
    assert created is not None

    assert await repository.get_menu(_OTHER_GUILD, created.menu_id) is None
    assert await repository.list_menus(_OTHER_GUILD) == ()
    assert await repository.delete_menu(_OTHER_GUILD, created.menu_id) is None
    assert await repository.get_menu(_GUILD, created.menu_id) == created


async def test_create_menu_refuses_when_the_spec_is_invalid(
    repository: PostgresRoleMenusRepository,
) -> None:
    broken = dataclasses.replace(_SPEC, max_values=26)

    with pytest.raises(ValueError, match="maximum must be 1 to 25"):
        await repository.create_menu(_GUILD, broken, max_menus=25)
    assert await repository.list_menus(_GUILD) == ()


async def test_create_menu_stops_at_the_cap_when_many_admins_create_at_once(
    repository: PostgresRoleMenusRepository,
) -> None:
    results = await asyncio.gather(
        *(repository.create_menu(_GUILD, _SPEC, max_menus=3) for _ in range(10))
    )

    assert sum(result is not None for result in results) == 3
    assert len(await repository.list_menus(_GUILD)) == 3
    assert await repository.create_menu(_OTHER_GUILD, _SPEC, max_menus=3) is not None


async def test_update_menu_replaces_the_options_when_edited(
    repository: PostgresRoleMenusRepository,
) -> None:
    created = await repository.create_menu(_GUILD, _SPEC, max_menus=25)
    assert created is not None
    edited_spec = MenuSpec(
        title="One colour",
        kind=MenuKind.BUTTONS,
        mode=GroupMode.SINGLE,
        options=(MenuOption(_C, "Blue"), MenuOption(_A, "Red")),
        min_values=1,
    )

    edited = await repository.update_menu(_GUILD, created.menu_id, edited_spec)
    missing = await repository.update_menu(_GUILD, created.menu_id + 1000, edited_spec)

    assert edited is not None
    assert edited.spec == edited_spec
    assert await repository.get_menu(_GUILD, created.menu_id) == edited
    assert missing is None


async def test_delete_menu_returns_the_menu_and_removes_its_options_when_deleted(
    repository: PostgresRoleMenusRepository, postgres_pool: asyncpg.Pool[asyncpg.Record]
) -> None:
    created = await repository.create_menu(_GUILD, _SPEC, max_menus=25)
    assert created is not None

    deleted = await repository.delete_menu(_GUILD, created.menu_id)

    assert deleted == created
    assert await repository.get_menu(_GUILD, created.menu_id) is None
    assert await repository.delete_menu(_GUILD, created.menu_id) is None
    assert await postgres_pool.fetchval("SELECT count(*) FROM role_menu_options") == 0


async def test_attach_message_remembers_the_post_when_the_menu_exists(
    repository: PostgresRoleMenusRepository,
) -> None:
    created = await repository.create_menu(_GUILD, _SPEC, max_menus=25)
    assert created is not None

    attached = await repository.attach_message(_GUILD, created.menu_id, channel_id=8, message_id=9)
    elsewhere = await repository.attach_message(
        _OTHER_GUILD, created.menu_id, channel_id=8, message_id=9
    )

    assert attached is not None
    assert (attached.channel_id, attached.message_id) == (8, 9)
    assert attached.spec == _SPEC
    assert elsewhere is None


async def test_disable_role_disables_its_options_in_every_menu_when_the_role_is_deleted(
    repository: PostgresRoleMenusRepository,
) -> None:
    first = await repository.create_menu(_GUILD, _SPEC, max_menus=25)
    only_b = dataclasses.replace(_SPEC, options=(MenuOption(_B, "Green"),), max_values=None)
    second = await repository.create_menu(_GUILD, only_b, max_menus=25)
    other_guild = await repository.create_menu(_OTHER_GUILD, _SPEC, max_menus=25)
    assert first is not None
    assert second is not None
    assert other_guild is not None

    touched = await repository.disable_role(_GUILD, _A)
    again = await repository.disable_role(_GUILD, _A)

    assert touched == (first.menu_id,)
    assert again == ()
    stored = await repository.get_menu(_GUILD, first.menu_id)
    assert stored is not None
    assert [option.is_disabled for option in stored.spec.options] == [True, False, False]
    assert stored.enabled_role_ids() == (_B, _C)
    untouched = await repository.get_menu(_OTHER_GUILD, other_guild.menu_id)
    assert untouched == other_guild
    assert await repository.get_menu(_GUILD, second.menu_id) == second


async def test_forget_guild_deletes_its_menus_when_the_guild_is_removed(
    repository: PostgresRoleMenusRepository,
) -> None:
    await repository.create_menu(_GUILD, _SPEC, max_menus=25)
    await repository.create_menu(_GUILD, _SPEC, max_menus=25)
    kept = await repository.create_menu(_OTHER_GUILD, _SPEC, max_menus=25)

    assert await repository.forget_guild(_GUILD) == 2
    assert await repository.list_menus(_GUILD) == ()
    assert await repository.list_menus(_OTHER_GUILD) == (kept,)
