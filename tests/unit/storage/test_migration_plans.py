"""Migration plans: order, gaps, duplicates, changed checksums, out-of-order versions."""

from __future__ import annotations

import pytest

from shoal.storage.migration_plans import (
    AppliedMigration,
    Migration,
    MigrationError,
    migration_checksum,
    ordered_migrations,
    pending_migrations,
    unknown_applied,
)


def _migration(module: str, version: int, sql: str = "SELECT 1") -> Migration:
    return Migration(module, version, f"step_{version}", sql)


def _applied(migration: Migration) -> AppliedMigration:
    return AppliedMigration(migration.module, migration.version, migration.name, migration.checksum)


def test_ordered_migrations_keeps_module_order_and_sorts_versions_when_given_shuffled() -> None:
    core_1, core_2 = _migration("core", 1), _migration("core", 2)
    xp_1, xp_2 = _migration("xp", 1), _migration("xp", 2)

    ordered = ordered_migrations([core_2, xp_2, core_1, xp_1])

    assert [m.label for m in ordered] == ["core/0001", "core/0002", "xp/0001", "xp/0002"]


def test_ordered_migrations_refuses_naming_the_missing_version_when_versions_have_a_gap() -> None:
    with pytest.raises(MigrationError, match=r"xp/0002 missing"):
        ordered_migrations([_migration("xp", 1), _migration("xp", 3)])


def test_ordered_migrations_refuses_when_a_module_does_not_start_at_version_one() -> None:
    with pytest.raises(MigrationError, match=r"xp/0001 missing"):
        ordered_migrations([_migration("xp", 2)])


def test_ordered_migrations_refuses_naming_the_version_when_it_is_defined_twice() -> None:
    first = Migration("xp", 2, "add_level", "SELECT 1")
    second = Migration("xp", 2, "add_rank", "SELECT 2")

    with pytest.raises(MigrationError, match=r"xp/0002 is defined twice"):
        ordered_migrations([_migration("xp", 1), first, second])


@pytest.mark.parametrize(
    ("module", "version", "name"),
    [("Core", 1, "ok"), ("core", 0, "ok"), ("core", 1, "Has Space"), ("1core", 1, "ok")],
)
def test_migration_refuses_construction_when_module_version_or_name_is_invalid(
    module: str, version: int, name: str
) -> None:
    with pytest.raises(MigrationError):
        Migration(module, version, name, "SELECT 1")


def test_pending_migrations_returns_only_unapplied_in_order_when_some_are_applied() -> None:
    core = [_migration("core", v) for v in (1, 2, 3)]
    xp = [_migration("xp", 1)]

    pending = pending_migrations([*core, *xp], [_applied(core[0]), _applied(core[1])])

    assert [m.label for m in pending] == ["core/0003", "xp/0001"]


def test_pending_migrations_returns_nothing_when_everything_is_applied() -> None:
    core = [_migration("core", v) for v in (1, 2)]

    assert pending_migrations(core, [_applied(m) for m in core]) == ()


def test_pending_migrations_refuses_naming_module_and_version_when_applied_sql_changed() -> None:
    original = _migration("core", 1, "CREATE TABLE a (id int)")
    edited = _migration("core", 1, "CREATE TABLE a (id bigint)")

    with pytest.raises(MigrationError, match=r"core/0001 \(step_1\) changed after it was applied"):
        pending_migrations([edited], [_applied(original)])


def test_pending_migrations_refuses_when_an_earlier_version_is_pending_behind_an_applied_one() -> (
    None
):
    core = [_migration("core", v) for v in (1, 2, 3)]

    with pytest.raises(MigrationError, match=r"core/0002 \(step_2\) is pending but core/0003"):
        pending_migrations(core, [_applied(core[0]), _applied(core[2])])


def test_unknown_applied_lists_migrations_from_a_newer_release_when_the_code_lacks_them() -> None:
    core = [_migration("core", v) for v in (1, 2)]
    newer = _migration("core", 3)

    assert unknown_applied(core, [_applied(m) for m in (*core, newer)]) == (_applied(newer),)
    assert pending_migrations(core, [_applied(m) for m in (*core, newer)]) == ()


def test_migration_checksum_is_equal_when_only_line_endings_differ() -> None:
    assert migration_checksum("SELECT 1;\r\nSELECT 2;\r\n") == migration_checksum(
        "SELECT 1;\nSELECT 2;\n"
    )
    assert migration_checksum("SELECT 1;") != migration_checksum("SELECT 2;")
