"""The showcase guild's plan: the guild read from the simulator, bodies, replies, pace, text."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.local.community import (
    SELF_ROLES,
    SHOWCASE_ROLES,
    CommunityFigures,
    ShowcaseGuild,
    ShowcaseRoles,
    add_role_command,
    allow_roles_command,
    click_body,
    community_parts,
    due_now,
    is_within_member_edit_limit,
    menu_id_in,
    menu_message,
    modal_body,
    picked_values,
    reply_of,
    rules_agree_button,
    setup_command,
    showcase_guild,
)
from shoal.local.status import StatusRow, format_line, format_table

_GUILD = ShowcaseGuild(10, admin_id=21, rules_channel_id=31, menu_channel_id=32, pickers=(22, 23))
_ROLES = ShowcaseRoles(41, 42, (43, 44, 45, 46))


def _guild_state() -> dict[str, Any]:
    return {
        "id": "10",
        "roles": [
            {"id": "10", "name": "@everyone"},
            {"id": "50", "name": "shoal-bot", "tags": {"bot_id": "99"}},
        ],
        "channels": [
            {"id": "30", "type": 4, "position": 0},  # a category
            {"id": "33", "type": 0, "position": 3},
            {"id": "31", "type": 0, "position": 1},
            {"id": "34", "type": 2, "position": 2},  # voice
            {"id": "32", "type": 0, "position": 2},
        ],
        "members": {"23": {}, "99": {}, "21": {}, "22": {}},
    }


def test_showcase_guild_picks_the_first_text_channels_and_leaves_out_the_bot() -> None:
    assert showcase_guild(_guild_state()) == _GUILD


def test_showcase_guild_refuses_a_guild_without_text_channels() -> None:
    state = _guild_state() | {"channels": [{"id": "34", "type": 2, "position": 2}]}

    with pytest.raises(ValueError, match="text channel"):
        showcase_guild(state)


def test_showcase_roles_are_onboarding_roles_then_the_colours() -> None:
    assert SHOWCASE_ROLES[:2] == ("Pre-Member", "Member")
    assert SHOWCASE_ROLES[2:] == SELF_ROLES
    assert 3 <= len(SELF_ROLES) <= 4


def test_setup_command_is_the_admins_onboarding_setup_with_role_and_channel_options() -> None:
    body = setup_command(_GUILD, _ROLES)

    assert (body["type"], body["name"], body["user_id"]) == ("command", "onboarding", "21")
    (sub,) = body["options"]
    assert (sub["type"], sub["name"]) == (1, "setup")
    assert [(o["type"], o["name"], o["value"]) for o in sub["options"]] == [
        (8, "pre_member_role", "41"),
        (8, "member_role", "42"),
        (7, "rules_channel", "31"),
    ]


def test_role_menu_commands_allow_then_add_the_colours_by_mention() -> None:
    allowed = allow_roles_command(_GUILD, _ROLES)["options"][0]["options"]
    added = add_role_command(_GUILD, 7, 44)["options"][0]

    assert [o["value"] for o in allowed] == [
        "rolemenus",
        "allowed_role_ids",
        "<@&43> <@&44> <@&45> <@&46>",
    ]
    assert added["name"] == "add"
    assert [(o["name"], o["value"]) for o in added["options"]] == [("menu", 7), ("role", "<@&44>")]


def test_click_body_is_a_button_without_values_and_a_select_with_them() -> None:
    button = click_body(_GUILD, channel_id=31, user_id=5, message_id=9, custom_id="onb:1:agree:1")
    select = click_body(
        _GUILD, channel_id=32, user_id=5, message_id=8, custom_id="rm:1:3", values=["43"]
    )

    assert (button["component_type"], button["message_id"], "values" in button) == (
        "button",
        "9",
        False,
    )
    assert (select["component_type"], select["values"]) == ("string_select", ["43"])


def test_modal_body_fills_the_rules_input() -> None:
    body = modal_body(_GUILD, "onb:1:save:0", "Be kind.")

    (row,) = body["components"]
    assert row["components"][0]["custom_id"] == "rules"
    assert row["components"][0]["value"] == "Be kind."
    assert (body["type"], body["custom_id"], body["user_id"]) == ("modal", "onb:1:save:0", "21")


def test_reply_of_is_none_until_answered_and_none_for_a_bare_deferral() -> None:
    assert reply_of({"response_type": None, "original": None, "followups": []}) is None
    deferred = {"response_type": 5, "original": {"content": "", "embeds": []}, "followups": []}
    assert reply_of(deferred) is None


def test_reply_of_reads_the_content_the_embed_the_follow_up_and_a_modal() -> None:
    content = {"response_type": 4, "original": {"content": "Saved: x"}, "followups": []}
    embed = {"response_type": 4, "original": {"embeds": [{"description": "rules"}]}}
    followed = {
        "response_type": 5,
        "original": {"content": ""},
        "followups": [{"content": "Added @Red"}],
    }
    modal = {"response_type": 9, "response": {"data": {"custom_id": "onb:1:save:0"}}}

    assert [reply.text for reply in map(reply_of, (content, embed, followed)) if reply] == [
        "Saved: x",
        "rules",
        "Added @Red",
    ]
    opened = reply_of(modal)
    assert opened is not None
    assert (opened.modal_custom_id, opened.message) == ("onb:1:save:0", None)


def test_reply_custom_ids_lists_the_buttons_of_the_answer() -> None:
    state = {
        "response_type": 4,
        "original": {
            "content": "Press Edit rules",
            "components": [{"type": 1, "components": [{"type": 2, "custom_id": "onbedit:1"}]}],
        },
    }

    reply = reply_of(state)

    assert reply is not None
    assert reply.custom_ids() == ["onbedit:1"]


def _rules_message(message_id: str, agree: str) -> dict[str, Any]:
    return {
        "id": message_id,
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "label": "View rules", "custom_id": "onb:1:view"},
                    {"type": 2, "label": "I agree", "custom_id": agree},
                ],
            }
        ],
    }


def test_rules_agree_button_is_the_latest_rules_messages_i_agree() -> None:
    messages = [
        _rules_message("1", "onb:1:agree:1"),
        {"id": "2", "content": "Ann reached level 2!", "components": []},
        _rules_message("3", "onb:1:agree:2"),
    ]

    assert rules_agree_button(messages) == (3, "onb:1:agree:2")
    assert rules_agree_button(messages[1:2]) is None


def test_menu_message_reads_the_posted_select_and_its_values() -> None:
    select = {
        "type": 3,
        "custom_id": "rm:1:4",
        "options": [{"label": "Red", "value": "43"}, {"label": "Blue", "value": "45"}],
    }
    messages = [
        {"id": "5", "embeds": [{"title": "Other"}], "components": [{"components": [select]}]},
        {"id": "6", "embeds": [{"title": "Colours"}], "components": [{"components": [select]}]},
    ]

    found = menu_message(messages)

    assert found is not None
    assert (found.message_id, found.custom_id, found.values) == (6, "rm:1:4", ("43", "45"))
    assert menu_message(messages[:1]) is None


def test_menu_id_in_reads_the_created_menu_and_none_for_a_refusal() -> None:
    assert menu_id_in('Created role menu 12, "Colours". Add roles with ...') == 12
    assert menu_id_in("Not created: this server already has 10 role menus.") is None


def test_picked_values_rotate_one_or_two_colours() -> None:
    values = ("a", "b", "c", "d")

    picks = [picked_values(values, turn) for turn in range(4)]

    assert picks == [("a",), ("b", "c"), ("c",), ("d", "a")]
    assert picked_values((), 3) == ()
    assert picked_values(("a",), 1) == ("a",)


def test_due_now_keeps_the_rate_since_the_start_and_zero_turns_it_off() -> None:
    assert due_now(rate_per_s=0.5, elapsed_s=4.9, done=0) == 2
    assert due_now(rate_per_s=0.5, elapsed_s=4.9, done=2) == 0
    assert due_now(rate_per_s=0.0, elapsed_s=100.0, done=0) == 0
    assert due_now(rate_per_s=1.0, elapsed_s=-1.0, done=0) == 0


def test_the_default_pace_is_within_discords_member_edits_in_a_guild() -> None:
    assert is_within_member_edit_limit(joins_per_s=0.2, picks_per_s=0.4)
    assert not is_within_member_edit_limit(joins_per_s=0.5, picks_per_s=0.5)


def test_the_status_shows_onboarding_and_role_menus() -> None:
    figures = CommunityFigures(joined=1_200, agreed=9, with_member_role=8, picks=31)
    row = StatusRow(
        uptime_s=5.0,
        shards_total=1,
        workers_running=1,
        workers_total=1,
        guilds=None,
        sim=None,
        events_per_s=None,
        registry=None,
        community=figures,
    )

    assert community_parts(figures) == (
        "1,200 joined, 9 agreed (8 with Member role)",
        "31 picks",
    )
    assert format_line(row).endswith(
        "onboarding: 1,200 joined, 9 agreed (8 with Member role) role menus: 31 picks"
    )
    table = format_table(row)
    assert any(line.split() == ["role", "menus", "31", "picks"] for line in table)
    assert not any("onboarding" in line for line in format_table(StatusRow(**_without(row))))


def _without(row: StatusRow) -> dict[str, Any]:
    return {
        "uptime_s": row.uptime_s,
        "shards_total": row.shards_total,
        "workers_running": row.workers_running,
        "workers_total": row.workers_total,
        "guilds": row.guilds,
        "sim": row.sim,
        "events_per_s": row.events_per_s,
        "registry": row.registry,
    }
