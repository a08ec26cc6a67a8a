"""Role menu texts (role references, hints, list lines, alerts) and the posted components."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from shoal.features.rolemenus.rendering import (
    button_custom_id,
    menu_components,
    menu_embed,
    select_custom_id,
)
from shoal.features.rolemenus.rules import GroupMode, MenuKind, MenuOption, MenuSpec, RoleMenu
from shoal.features.rolemenus.texts import (
    MAX_REPLY_CHARS,
    default_label,
    menu_hint,
    menu_line,
    menus_overview,
    role_reference,
    with_alerts,
)
from shoal.kit.roles import RoleFacts

if TYPE_CHECKING:
    import hikari

_A, _B, _C = 101, 102, 103
_ROLES = {
    _A: RoleFacts(_A, "Red", 2),
    _B: RoleFacts(_B, "Green", 2),
    _C: RoleFacts(_C, "green", 1),
}


def _menu(
    kind: MenuKind = MenuKind.SELECT,
    mode: GroupMode = GroupMode.MULTIPLE,
    *,
    options: tuple[MenuOption, ...] = (MenuOption(_A, "Red", emoji="🟥"), MenuOption(_B, "Green")),
    min_values: int = 0,
    max_values: int | None = None,
    channel_id: int | None = None,
) -> RoleMenu:
    spec = MenuSpec("Colours", kind, mode, options, min_values=min_values, max_values=max_values)
    message_id = None if channel_id is None else 9
    return RoleMenu(7, 5, spec, channel_id=channel_id, message_id=message_id)


def _built(rows: list[hikari.api.ComponentBuilder]) -> list[dict[str, Any]]:
    return [dict(row.build()[0]) for row in rows]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (str(_A), _A),
        (f"<@&{_B}>", _B),
        (" 999 ", 999),  # an id of a deleted role is still an id
        ("Red", _A),
        ("@red", _A),
        ("green", None),  # two roles share the name
        ("Blue", None),
        ("<@&abc>", None),
    ],
)
def test_role_reference_finds_the_role_when_given_an_id_mention_or_unique_name(
    text: str, expected: int | None
) -> None:
    assert role_reference(text, _ROLES) == expected


def test_default_label_is_the_role_name_cut_to_the_label_limit() -> None:
    assert default_label(RoleFacts(1, "x" * 100, 1)) == "x" * 80
    assert default_label(_ROLES[_A]) == "Red"


@pytest.mark.parametrize(
    ("menu", "hint"),
    [
        (_menu(mode=GroupMode.SINGLE), "Pick one role, or none: choosing another switches to it."),
        (
            _menu(MenuKind.BUTTONS, GroupMode.SINGLE, min_values=1),
            "Pick one role: press another to switch.",
        ),
        (
            _menu(min_values=1, max_values=2),
            "Pick 1 to 2 of these roles: your choice replaces the roles you had from it.",
        ),
        (
            _menu(MenuKind.BUTTONS, min_values=2),
            "Have exactly 2 of these roles: press a button to take or drop its role.",
        ),
        (_menu(), "Pick up to 2 of these roles: your choice replaces the roles you had from it."),
    ],
)
def test_menu_hint_says_what_members_may_pick_when_posted(menu: RoleMenu, hint: str) -> None:
    assert menu_hint(menu.spec) == hint


def test_menu_line_shows_shape_roles_disabled_and_where_posted() -> None:
    options = (MenuOption(_A, "Red"), MenuOption(_B, "Green", is_disabled=True))
    posted = _menu(options=options, min_values=1, max_values=2, channel_id=44)

    assert menu_line(posted) == (
        "`7` **Colours**: select, multiple, 1 to 2; 2 roles (1 disabled: role deleted); "
        "posted in <#44>"
    )
    assert menu_line(_menu(mode=GroupMode.SINGLE, options=options[:1])) == (
        "`7` **Colours**: select, single; 1 role; not posted"
    )


def test_menus_overview_tells_how_to_start_when_there_is_no_menu() -> None:
    assert menus_overview((), max_menus=25).startswith("No role menus yet.")
    assert menus_overview((_menu(),), max_menus=25).endswith("\n1 of 25 menus.")


def test_with_alerts_appends_them_and_stays_within_discords_limit() -> None:
    assert with_alerts("Done.", ()) == "Done."
    assert with_alerts("Done.", ["a", "b"]) == "Done.\n\n**For the admins:**\n- a\n- b"
    long = with_alerts("Done.", ["x" * 1500, "y" * 1500])
    assert len(long) == MAX_REPLY_CHARS
    assert long.endswith("…")


def test_menu_components_hold_one_select_of_the_enabled_roles_when_a_select() -> None:
    options = (
        MenuOption(_A, "Red", description="The red one", emoji="🟥"),
        MenuOption(_B, "Green", is_disabled=True),
        MenuOption(_C, "Blue", emoji="<:blue:42>"),
    )
    (row,) = _built(menu_components(_menu(options=options, min_values=2, max_values=3)))

    (select,) = row["components"]
    assert select["custom_id"] == "rm:1:7" == select_custom_id(7)
    assert (select["min_values"], select["max_values"]) == (2, 2)  # clamped to what is left
    assert [(o["label"], o["value"]) for o in select["options"]] == [
        ("Red", str(_A)),
        ("Blue", str(_C)),
    ]
    assert select["options"][0]["description"] == "The red one"
    assert select["options"][0]["emoji"] == {"name": "🟥"}
    assert str(select["options"][1]["emoji"]["id"]) == "42"


def test_menu_components_are_empty_when_every_option_of_a_select_is_disabled() -> None:
    options = (MenuOption(_A, "Red", is_disabled=True),)
    assert menu_components(_menu(options=options)) == []


def test_menu_components_lay_buttons_in_rows_of_five_with_disabled_ones_greyed() -> None:
    options = tuple(
        MenuOption(role_id, f"R{role_id}", is_disabled=role_id == 3) for role_id in range(1, 8)
    )
    rows = _built(menu_components(_menu(MenuKind.BUTTONS, options=options)))

    assert [len(row["components"]) for row in rows] == [5, 2]
    first = rows[0]["components"]
    assert [b["custom_id"] for b in first[:2]] == [button_custom_id(7, 1), "rm:1:7:2"]
    assert [b["disabled"] for b in first] == [False, False, True, False, False]


def test_menu_embed_shows_the_title_and_the_hint() -> None:
    embed = menu_embed(_menu())
    assert embed.title == "Colours"
    assert embed.description == menu_hint(_menu().spec)
