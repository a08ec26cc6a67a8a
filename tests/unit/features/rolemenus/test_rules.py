"""Role menu rules: validation, select changes, button toggles, deleted and unsafe roles."""

from __future__ import annotations

import dataclasses

import pytest

from shoal.features.rolemenus.rules import (
    GroupMode,
    MenuKind,
    MenuOption,
    MenuSpec,
    RoleMenu,
    SelectionOutcome,
    button_change,
    button_rows,
    deleted_roles,
    deleted_roles_alert,
    is_emoji,
    menu_problems,
    role_problems,
    select_bounds,
    selection_change,
)
from shoal.features.rolemenus.settings import RoleMenusSettings
from shoal.kit.roles import BAN_MEMBERS, MANAGE_ROLES, RoleFacts

_A, _B, _C, _OTHER = 101, 102, 103, 200
_BOT = RoleFacts(900, "Shoal", 10, is_managed=True)
_ROLES = {
    role_id: RoleFacts(role_id, name, 2)
    for role_id, name in ((_A, "Red"), (_B, "Green"), (_C, "Blue"))
}
_SETTINGS = RoleMenusSettings(allowed_role_ids=frozenset({_A, _B, _C}))


def _spec(
    mode: GroupMode = GroupMode.MULTIPLE,
    *,
    kind: MenuKind = MenuKind.SELECT,
    min_values: int = 0,
    max_values: int | None = None,
    roles: tuple[int, ...] = (_A, _B, _C),
) -> MenuSpec:
    options = tuple(MenuOption(role_id, f"Role {role_id}") for role_id in roles)
    return MenuSpec("Colours", kind, mode, options, min_values=min_values, max_values=max_values)


def _menu(spec: MenuSpec) -> RoleMenu:
    return RoleMenu(menu_id=1, guild_id=5, spec=spec)


def _select(
    menu: RoleMenu, held: tuple[int, ...], chosen: set[int], roles: dict[int, RoleFacts] = _ROLES
) -> SelectionOutcome:
    return selection_change(
        menu, held, chosen, roles, _SETTINGS, bot_top=_BOT, bot_permissions=MANAGE_ROLES
    )


def _press(
    menu: RoleMenu, held: tuple[int, ...], role_id: int, roles: dict[int, RoleFacts] = _ROLES
) -> SelectionOutcome:
    return button_change(
        menu, held, role_id, roles, _SETTINGS, bot_top=_BOT, bot_permissions=MANAGE_ROLES
    )


def test_menu_problems_are_empty_when_the_menu_is_valid() -> None:
    assert menu_problems(_spec()) == ()
    assert menu_problems(_spec(GroupMode.SINGLE, kind=MenuKind.BUTTONS, min_values=1)) == ()
    assert menu_problems(_spec(min_values=1, max_values=2)) == ()


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (_spec(roles=()), "1 to 25 roles"),
        (_spec(roles=tuple(range(1, 27))), "1 to 25 roles"),
        (_spec(min_values=3, max_values=2), "minimum must be 0 to 2"),
        (_spec(max_values=4), "maximum must be 1 to 3"),
        (_spec(max_values=0), "maximum must be 1 to 3"),
        (_spec(GroupMode.SINGLE, max_values=2), "leave the maximum at 1"),
        (_spec(GroupMode.SINGLE, min_values=2), "minimum is 0 or 1"),
        (_spec(roles=(_A, _A)), "on the menu twice"),
        (dataclasses.replace(_spec(), title=" "), "title"),
    ],
)
def test_menu_problems_name_the_problem_when_the_shape_is_invalid(
    spec: MenuSpec, fragment: str
) -> None:
    assert any(fragment in problem for problem in menu_problems(spec))


def test_menu_problems_check_labels_and_descriptions_when_too_long_or_duplicated() -> None:
    options = (
        MenuOption(_A, "x" * 81),
        MenuOption(_B, "Same", description="d" * 101),
        MenuOption(_C, "same"),
    )
    select = menu_problems(MenuSpec("T", MenuKind.SELECT, GroupMode.MULTIPLE, options))
    buttons = menu_problems(
        MenuSpec("T", MenuKind.BUTTONS, GroupMode.MULTIPLE, (MenuOption(_A, "A", description="d"),))
    )

    assert any("label must have 1 to 80" in p for p in select)
    assert any("description must have 1 to 100" in p for p in select)
    assert any("same label" in p for p in select)
    assert buttons == ('Option 1 ("A"): buttons show no description: remove it, or use a select.',)


def test_role_problems_refuse_when_a_role_is_unsafe_not_allowed_or_missing() -> None:
    roles = {
        _A: RoleFacts(_A, "Mods", 2, permissions=BAN_MEMBERS),
        _B: RoleFacts(_B, "VIP", 11),
        _OTHER: RoleFacts(_OTHER, "Fine", 1),
    }
    spec = _spec(roles=(_A, _B, _C, _OTHER))

    problems = role_problems(spec, _SETTINGS, roles, bot_top=_BOT, bot_permissions=MANAGE_ROLES)

    assert problems == (
        (
            "The role @Mods has Ban Members, which self-assigned roles must never have. Pick "
            "a role without moderation permissions."
        ),
        (
            "The role @VIP is above my highest role @Shoal: drag my role above it in Server "
            "Settings -> Roles."
        ),
        f"The role <@&{_C}> no longer exists: pick another.",
        (
            "The role @Fine is not on this server's allow-list of self-assignable roles: an "
            "admin must add it first."
        ),
    )
    assert (
        role_problems(_spec(), _SETTINGS, _ROLES, bot_top=_BOT, bot_permissions=MANAGE_ROLES) == ()
    )


def test_selection_change_sets_the_menus_roles_to_the_choice_in_one_list() -> None:
    outcome = _select(_menu(_spec()), (_OTHER, _A), {_B, _C})

    assert outcome.role_ids == (_OTHER, _B, _C)
    assert outcome.added == (_B, _C)
    assert outcome.removed == (_A,)
    assert outcome.reply == f"Added <@&{_B}>, <@&{_C}>. Removed <@&{_A}>."


def test_selection_change_sends_nothing_when_the_choice_matches_the_roles_held() -> None:
    outcome = _select(_menu(_spec()), (_A, _OTHER), {_A})

    assert outcome.role_ids is None
    assert outcome.reply.startswith("Nothing to change")


def test_selection_change_removes_the_others_when_single_mode() -> None:
    outcome = _select(_menu(_spec(GroupMode.SINGLE)), (_A,), {_B})

    assert outcome.role_ids == (_B,)


def test_selection_change_clears_the_menus_roles_when_nothing_is_chosen_and_min_is_zero() -> None:
    assert _select(_menu(_spec()), (_A, _B, _OTHER), set()).role_ids == (_OTHER,)


def test_selection_change_refuses_when_the_choice_is_outside_the_bounds() -> None:
    bounded = _menu(_spec(min_values=1, max_values=2))

    too_many = _select(bounded, (), {_A, _B, _C})
    too_few = _select(bounded, (_A,), set())

    assert too_many.role_ids is None
    assert "at most 2" in too_many.reply
    assert too_few.role_ids is None
    assert "at least 1" in too_few.reply


def test_selection_change_ignores_values_that_are_not_enabled_options() -> None:
    spec = _spec()
    disabled = dataclasses.replace(
        spec, options=(*spec.options[:2], dataclasses.replace(spec.options[2], is_disabled=True))
    )

    outcome = _select(_menu(disabled), (), {_A, _C, _OTHER})

    assert outcome.role_ids == (_A,)


def test_selection_change_refuses_unsafe_roles_and_changes_the_rest_when_checked_again() -> None:
    roles = {
        **_ROLES,
        _B: RoleFacts(_B, "Green", 2, permissions=BAN_MEMBERS),
        _C: RoleFacts(_C, "Blue", 12),
    }

    outcome = _select(_menu(_spec()), (_C,), {_A, _B}, roles)

    assert outcome.added == (_A,)
    assert outcome.removed == ()  # @Blue is now above the bot: not removed either
    assert outcome.role_ids == (_C, _A)
    assert [refused.role_id for refused in outcome.refused] == [_B, _C]
    assert "Ban Members" in outcome.refused[0].message
    assert "ask the server's admins" in outcome.reply


def test_selection_change_refuses_a_role_when_it_left_the_allow_list() -> None:
    settings = RoleMenusSettings(allowed_role_ids=frozenset({_A}))

    outcome = selection_change(
        _menu(_spec()), (), {_A, _B}, _ROLES, settings, bot_top=_BOT, bot_permissions=MANAGE_ROLES
    )

    assert outcome.added == (_A,)
    assert [refused.role_id for refused in outcome.refused] == [_B]


def test_selection_change_reports_a_deleted_role_and_serves_the_rest() -> None:
    roles = {_A: _ROLES[_A], _B: _ROLES[_B]}

    outcome = _select(_menu(_spec()), (), {_A, _C}, roles)

    assert outcome.role_ids == (_A,)
    assert outcome.deleted_role_ids == (_C,)
    assert "no longer exists" in outcome.reply


def test_selection_change_does_nothing_when_the_bot_cannot_manage_roles() -> None:
    outcome = selection_change(
        _menu(_spec()), (), {_A}, _ROLES, _SETTINGS, bot_top=_BOT, bot_permissions=0
    )

    assert outcome.role_ids is None
    assert "Manage Roles" in outcome.refused[0].message


def test_button_change_toggles_the_role_when_multiple_mode() -> None:
    menu = _menu(_spec(kind=MenuKind.BUTTONS))

    added = _press(menu, (_OTHER, _A), _B)
    removed = _press(menu, (_OTHER, _A), _A)

    assert added.role_ids == (_OTHER, _A, _B)
    assert removed.role_ids == (_OTHER,)


def test_button_change_refuses_passing_the_bounds_when_multiple_mode() -> None:
    menu = _menu(_spec(kind=MenuKind.BUTTONS, min_values=1, max_values=2))

    over = _press(menu, (_A, _B), _C)
    under = _press(menu, (_A,), _A)

    assert over.role_ids is None
    assert "at most 2" in over.reply
    assert under.role_ids is None
    assert "at least 1" in under.reply


def test_button_change_switches_the_role_when_single_mode() -> None:
    menu = _menu(_spec(GroupMode.SINGLE, kind=MenuKind.BUTTONS))

    switched = _press(menu, (_A, _OTHER), _B)
    dropped = _press(menu, (_A,), _A)
    kept = _press(_menu(_spec(GroupMode.SINGLE, kind=MenuKind.BUTTONS, min_values=1)), (_A,), _A)

    assert switched.role_ids == (_OTHER, _B)
    assert switched.removed == (_A,)
    assert dropped.role_ids == ()
    assert kept.role_ids is None
    assert "press another to switch" in kept.reply


def test_button_change_does_nothing_when_the_role_is_deleted_or_not_on_the_menu() -> None:
    menu = _menu(_spec(kind=MenuKind.BUTTONS))

    deleted = _press(menu, (), _C, {_A: _ROLES[_A], _B: _ROLES[_B]})
    forged = _press(menu, (), _OTHER)

    assert deleted.role_ids is None
    assert deleted.deleted_role_ids == (_C,)
    assert "no longer exists" in deleted.reply
    assert forged.role_ids is None
    assert "no longer on this menu" in forged.reply


def test_deleted_roles_and_alert_name_the_disabled_options() -> None:
    menu = _menu(_spec())

    gone = deleted_roles(menu, {_A, _B})

    assert gone == (_C,)
    assert deleted_roles_alert(menu, gone) == (
        f'Role menu "Colours" (id 1): the role of "Role {_C}" was deleted, so that option is '
        "disabled; the rest of the menu still works. Edit the menu to replace it."
    )


def test_select_bounds_clamp_to_the_enabled_options_when_some_are_disabled() -> None:
    spec = _spec(min_values=2, max_values=3)
    one_left = dataclasses.replace(
        spec,
        options=(
            spec.options[0],
            *(dataclasses.replace(o, is_disabled=True) for o in spec.options[1:]),
        ),
    )
    none_left = dataclasses.replace(
        spec, options=tuple(dataclasses.replace(o, is_disabled=True) for o in spec.options)
    )

    assert select_bounds(_menu(spec)) == (2, 3)
    assert select_bounds(_menu(one_left)) == (1, 1)
    assert select_bounds(_menu(none_left)) is None
    assert select_bounds(_menu(_spec(GroupMode.SINGLE))) == (0, 1)


def test_button_rows_hold_five_buttons_each_when_laid_out() -> None:
    rows = button_rows(_menu(_spec(kind=MenuKind.BUTTONS, roles=tuple(range(1, 13)))))

    assert [len(row) for row in rows] == [5, 5, 2]
    assert rows[2][1].role_id == 12


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (_spec(roles=(), max_values=3), None),  # created before its roles are added
        (_spec(roles=(_A,), min_values=2, max_values=5), None),
        (_spec(GroupMode.SINGLE, roles=()), None),
        (_spec(roles=(), max_values=26), "The maximum must be 1 to 25."),
        (_spec(roles=(), min_values=4, max_values=3), "The minimum must be 0 to 3 (the maximum)."),
        (_spec(roles=tuple(range(1, 27))), "A menu has 1 to 25 roles; this one has 26."),
    ],
)
def test_menu_problems_accept_a_draft_when_its_roles_are_not_added_yet(
    spec: MenuSpec, problem: str | None
) -> None:
    problems = menu_problems(spec, is_draft=True)

    assert problems == (() if problem is None else (problem,))
    if spec.options == ():
        assert "A menu has 1 to 25 roles; this one has 0." in menu_problems(spec)


@pytest.mark.parametrize(
    ("emoji", "is_valid"),
    [
        ("🟥", True),
        ("👨‍👩‍👧", True),
        ("1️⃣", True),
        ("<:blob:123>", True),
        ("<a:dance_2:9876543210>", True),
        ("red", False),
        (":red_square:", False),
        ("<@&123>", False),
        ("🟥 red", False),
        ("🟥" * 20, False),
    ],
)
def test_menu_problems_check_the_emoji_when_an_option_has_one(emoji: str, is_valid: bool) -> None:  # noqa: FBT001 - a parametrised expectation
    spec = MenuSpec("T", MenuKind.SELECT, GroupMode.MULTIPLE, (MenuOption(_A, "A", emoji=emoji),))

    assert is_emoji(emoji) is is_valid
    assert (menu_problems(spec) == ()) is is_valid


def test_role_problems_skip_disabled_options_when_their_role_was_deleted() -> None:
    options = (MenuOption(_A, "Red"), MenuOption(_OTHER, "Gone", is_disabled=True))
    spec = MenuSpec("T", MenuKind.SELECT, GroupMode.MULTIPLE, options)

    assert role_problems(spec, _SETTINGS, _ROLES, bot_top=_BOT, bot_permissions=MANAGE_ROLES) == ()
