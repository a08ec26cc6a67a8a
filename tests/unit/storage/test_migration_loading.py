"""Reading a module's migrations from the ``.sql`` files of a package."""

from __future__ import annotations

import pytest

from shoal.storage.migrating import CORE_MODULE, core_migrations, load_migrations
from shoal.storage.migration_plans import MigrationError

_PACKAGES = "tests.unit.storage.migration_packages"


def test_load_migrations_reads_sql_files_in_version_order_when_names_are_valid() -> None:
    migrations = load_migrations("widgets", f"{_PACKAGES}.valid")

    assert [(m.module, m.version, m.name) for m in migrations] == [
        ("widgets", 1, "create_widgets"),
        ("widgets", 2, "add_widget_name"),
    ]
    assert migrations[0].sql == "CREATE TABLE widgets (id integer PRIMARY KEY);\n"


def test_load_migrations_refuses_naming_the_file_when_its_name_has_no_version() -> None:
    with pytest.raises(MigrationError, match=r"'1_create_widgets.sql' is not a migration file"):
        load_migrations("widgets", f"{_PACKAGES}.misnamed")


def test_load_migrations_refuses_when_the_package_holds_no_migration() -> None:
    with pytest.raises(MigrationError, match=r"no migration files"):
        load_migrations("widgets", f"{_PACKAGES}.empty")


def test_load_migrations_refuses_when_the_versions_have_a_gap() -> None:
    with pytest.raises(MigrationError, match=r"widgets/0002 missing"):
        load_migrations("widgets", f"{_PACKAGES}.gapped")


def test_core_migrations_start_with_guild_settings_when_loaded_from_the_package() -> None:
    migrations = core_migrations()

    assert {m.module for m in migrations} == {CORE_MODULE}
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "create_guild_settings"
    assert "CREATE TABLE guild_settings" in migrations[0].sql
