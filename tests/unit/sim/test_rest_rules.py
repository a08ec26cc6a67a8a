"""The simulated REST API's body rules: messages, commands, members, interactions, channels."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shoal_sim.discord.rest import (
    channel_rules,
    command_rules,
    errors,
    interaction_rules,
    member_rules,
    message_rules,
    role_rules,
)
from shoal_sim.discord.rest.errors import DiscordError, FieldErrors
from shoal_sim.discord.rest.interaction_rules import CallbackVerdict

_NOW_MS = 1_700_000_000_000
_DAY_MS = 86_400_000


def _codes(problems: FieldErrors) -> dict[tuple[str, ...], str]:
    return {path: code for path, code, _ in problems.flatten()}


# -- errors ---------------------------------------------------------------------------


def test_field_errors_build_discords_tree_when_paths_nest() -> None:
    problems = FieldErrors()
    problems.add(("options", 0, "name"), "APPLICATION_COMMAND_INVALID_NAME", "bad")
    problems.add((), "DICT_TYPE_CONVERT", "root")
    assert problems.tree() == {
        "options": {
            "0": {
                "name": {
                    "_errors": [{"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "bad"}]
                }
            }
        },
        "_errors": [{"code": "DICT_TYPE_CONVERT", "message": "root"}],
    }
    with pytest.raises(DiscordError) as raised:
        problems.raise_if_any()
    assert raised.value.body()["code"] == 50035
    assert raised.value.body()["message"] == "Invalid Form Body"


def test_field_errors_raise_nothing_when_empty() -> None:
    FieldErrors().raise_if_any()


# -- messages -------------------------------------------------------------------------


def test_parse_draft_rejects_content_when_longer_than_2000() -> None:
    with pytest.raises(DiscordError) as raised:
        message_rules.parse_draft({"content": "x" * 2001}, upload_count=0)
    assert raised.value.errors == {
        "content": {
            "_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
            ]
        }
    }


def test_parse_draft_rejects_embeds_when_more_than_ten_or_too_long() -> None:
    with pytest.raises(DiscordError) as many:
        message_rules.parse_draft({"embeds": [{"title": "t"}] * 11}, upload_count=0)
    with pytest.raises(DiscordError) as long:
        message_rules.parse_draft({"embeds": [{"description": "d" * 4000}] * 2}, upload_count=0)
    assert many.value.errors is not None
    assert "embeds" in many.value.errors
    assert long.value.errors == {
        "embeds": {
            "_errors": [
                {
                    "code": "MAX_EMBED_SIZE_EXCEEDED",
                    "message": "Embed size exceeds maximum size of 6000",
                }
            ]
        }
    }


def test_parse_draft_rejects_components_when_not_action_rows() -> None:
    with pytest.raises(DiscordError) as raised:
        message_rules.parse_draft({"components": [{"type": 2, "style": 1}]}, upload_count=0)
    assert raised.value.errors is not None
    assert "components" in raised.value.errors


def test_parse_draft_drops_flags_when_a_bot_may_not_set_them() -> None:
    draft = message_rules.parse_draft({"content": "x", "flags": 64 | 4}, upload_count=0)
    assert draft.flags == 4


def test_check_not_empty_refuses_when_nothing_would_show() -> None:
    empty = message_rules.parse_draft({"content": ""}, upload_count=0)
    with pytest.raises(DiscordError) as raised:
        message_rules.check_not_empty(empty, file_count=0)
    message_rules.check_not_empty(empty, file_count=1)
    assert raised.value.failure == errors.EMPTY_MESSAGE


# -- application commands ---------------------------------------------------------------


def _command(**overrides: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    return {"name": "ping", "description": "Ping", "type": 1} | overrides


@pytest.mark.parametrize("name", ["Ping", "two words", "", "x" * 33, "ping!"])
def test_check_command_rejects_chat_input_names_when_not_discords_shape(name: str) -> None:
    assert ("name",) in _codes(command_rules.check_command(_command(name=name)))


@pytest.mark.parametrize("name", ["ping", "set-volume", "über_cool", "x" * 32])
def test_check_command_accepts_chat_input_names_when_discords_shape(name: str) -> None:
    assert not command_rules.check_command(_command(name=name))


def test_check_command_accepts_context_menu_names_when_spaced_and_capitalised() -> None:
    assert not command_rules.check_command({"name": "Show Profile", "type": 2})
    problems = command_rules.check_command({"name": "Show", "type": 2, "description": "no"})
    assert _codes(problems) == {("description",): "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION"}


def test_check_command_rejects_descriptions_when_empty_or_over_100() -> None:
    assert ("description",) in _codes(command_rules.check_command(_command(description="")))
    assert ("description",) in _codes(command_rules.check_command(_command(description="d" * 101)))


def test_check_command_rejects_options_when_required_follows_optional() -> None:
    options = [
        {"type": 3, "name": "a", "description": "a"},
        {"type": 3, "name": "b", "description": "b", "required": True},
    ]
    codes = _codes(command_rules.check_command(_command(options=options)))
    assert codes == {("options",): "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"}


def test_check_command_rejects_nesting_when_a_subcommand_holds_a_subcommand() -> None:
    inner = {"type": 1, "name": "inner", "description": "i"}
    options = [{"type": 1, "name": "outer", "description": "o", "options": [inner]}]
    codes = _codes(command_rules.check_command(_command(options=options)))
    assert codes == {
        ("options", "0", "options", "0", "type"): "APPLICATION_COMMAND_OPTION_TYPE_INVALID"
    }


def test_check_command_accepts_groups_when_they_hold_subcommands() -> None:
    leaf = {
        "type": 1,
        "name": "clear",
        "description": "c",
        "options": [{"type": 5, "name": "all", "description": "a"}],
    }
    options = [{"type": 2, "name": "edit", "description": "e", "options": [leaf]}]
    assert not command_rules.check_command(_command(options=options))


def test_check_command_rejects_options_when_names_repeat_or_too_many() -> None:
    twice = [{"type": 3, "name": "a", "description": "a"}] * 2
    many = [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)]
    assert _codes(command_rules.check_command(_command(options=twice))) == {
        ("options",): "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME"
    }
    assert _codes(command_rules.check_command(_command(options=many))) == {
        ("options",): "BASE_TYPE_MAX_LENGTH"
    }


def test_check_bulk_names_the_index_when_names_repeat() -> None:
    problems = command_rules.check_bulk([_command(), _command()])
    assert _codes(problems) == {("1", "name"): "APPLICATION_COMMANDS_DUPLICATE_NAME"}


def test_check_bulk_refuses_when_more_than_100_chat_commands() -> None:
    with pytest.raises(DiscordError) as raised:
        command_rules.check_bulk([_command(name=f"c{i}") for i in range(101)])
    assert raised.value.failure.code == 30032


def test_stored_command_has_discords_fields_when_stored() -> None:
    option = {
        "type": 3,
        "name": "text",
        "description": "t",
        "required": False,
        "name_localizations": {},
        "min_length": None,
    }
    stored = command_rules.stored_command(
        _command(options=[option], default_member_permissions=8),
        command_id=1,
        application_id=2,
        version=3,
        guild_id=4,
    )
    assert stored["id"] == "1"
    assert stored["version"] == "3"
    assert stored["guild_id"] == "4"
    assert stored["default_member_permissions"] == "8"
    assert stored["options"] == [{"type": 3, "name": "text", "description": "t"}]


# -- members, roles, channels -----------------------------------------------------------------


def test_parse_member_edit_accepts_timeouts_when_within_28_days() -> None:
    until_ms = _NOW_MS + 28 * _DAY_MS - 1000
    iso = dt.datetime.fromtimestamp(until_ms / 1000, tz=dt.UTC).isoformat()
    edit = member_rules.parse_member_edit({"communication_disabled_until": iso}, now_ms=_NOW_MS)
    assert edit.changed == {"timeout_until_ms"}
    assert edit.timeout_until_ms == until_ms


def test_parse_member_edit_rejects_timeouts_when_longer_than_28_days() -> None:
    iso = "2023-12-14T22:13:20+00:00"  # 29 days after _NOW_MS
    with pytest.raises(DiscordError) as raised:
        member_rules.parse_member_edit({"communication_disabled_until": iso}, now_ms=_NOW_MS)
    assert raised.value.errors == {
        "communication_disabled_until": {
            "_errors": [
                {
                    "code": "INVALID_COMMUNICATION_DISABLED_TIMESTAMP",
                    "message": "Invalid communication disabled timestamp",
                }
            ]
        }
    }


def test_parse_member_edit_clears_fields_when_null() -> None:
    edit = member_rules.parse_member_edit(
        {"nick": "", "communication_disabled_until": None}, now_ms=_NOW_MS
    )
    assert edit.changed == {"nick", "timeout_until_ms"}
    assert edit.nick is None
    assert edit.timeout_until_ms is None


def test_parse_member_edit_rejects_bad_values_when_typed_wrong() -> None:
    body = {
        "nick": "n" * 33,
        "roles": ["1", "x"],
        "mute": "yes",
        "communication_disabled_until": "tomorrow",
    }
    with pytest.raises(DiscordError) as raised:
        member_rules.parse_member_edit(body, now_ms=_NOW_MS)
    assert set(raised.value.errors or {}) == {
        "nick",
        "roles",
        "mute",
        "communication_disabled_until",
    }


def test_parse_member_edit_takes_only_nick_when_editing_self() -> None:
    edit = member_rules.parse_member_edit(
        {"nick": "me", "roles": ["1"]}, now_ms=_NOW_MS, is_self=True
    )
    assert edit.changed == {"nick"}


def test_purge_seconds_reads_both_forms_when_within_a_week() -> None:
    assert member_rules.purge_seconds({}) == 0
    assert member_rules.purge_seconds({"delete_message_seconds": 60}) == 60
    assert member_rules.purge_seconds({"delete_message_days": 2}) == 2 * 86_400
    with pytest.raises(DiscordError):
        member_rules.purge_seconds({"delete_message_seconds": 8 * 86_400})


def test_check_role_rejects_values_when_out_of_range() -> None:
    problems = role_rules.check_role(
        {"name": "n" * 101, "color": 0x1000000, "hoist": "yes", "permissions": "many"}
    )
    assert set(_codes(problems)) == {("name",), ("color",), ("hoist",), ("permissions",)}
    assert role_rules.role_changes({"permissions": "8", "hoist": True}) == {
        "permissions": 8,
        "is_hoisted": True,
    }


def test_channel_name_is_lower_cased_when_the_channel_is_text() -> None:
    assert channel_rules.channel_name("Bot  Logs", 0) == "bot-logs"
    assert channel_rules.channel_name("Voice Room", 2) == "Voice Room"


def test_check_thread_rejects_types_when_the_parent_cannot_hold_them() -> None:
    problems = channel_rules.check_thread({"name": "t", "type": 10}, parent_type=0)
    assert _codes(problems) == {("type",): "BASE_TYPE_CHOICES"}
    assert not channel_rules.check_thread({"name": "t", "type": 10}, parent_type=5)


# -- interactions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("responded_at", "now", "verdict"),
    [
        (None, 2.9, CallbackVerdict.ACCEPTED),
        (None, 3.1, CallbackVerdict.LATE),
        (1.0, 1.5, CallbackVerdict.ALREADY_ACKNOWLEDGED),
        (1.0, 9.0, CallbackVerdict.ALREADY_ACKNOWLEDGED),
    ],
)
def test_judge_callback_decides_when_responses_arrive(
    responded_at: float | None,
    now: float,
    verdict: CallbackVerdict,
) -> None:
    assert (
        interaction_rules.judge_callback(
            started_at=0.0, responded_at=responded_at, now=now, deadline_s=3.0
        )
        is verdict
    )


def test_judge_callback_is_late_when_already_counted_unanswered_within_the_deadline() -> None:
    verdict = interaction_rules.judge_callback(
        started_at=0.0, responded_at=None, now=2.9, deadline_s=3.0, is_expired=True
    )
    assert verdict is CallbackVerdict.LATE


def test_is_token_expired_after_its_life_when_checked() -> None:
    assert not interaction_rules.is_token_expired(created_at=0.0, now=900.0, ttl_s=900.0)
    assert interaction_rules.is_token_expired(created_at=0.0, now=900.1, ttl_s=900.0)


def test_check_callback_rejects_types_when_the_interaction_cannot_take_them() -> None:
    assert interaction_rules.check_callback(2, {"type": 8, "data": {"choices": []}})
    assert interaction_rules.check_callback(4, {"type": 4, "data": {"content": "x"}})
    assert not interaction_rules.check_callback(4, {"type": 8, "data": {"choices": []}})
    assert not interaction_rules.check_callback(3, {"type": 6})


def test_check_callback_rejects_modals_when_incomplete() -> None:
    codes = _codes(interaction_rules.check_callback(2, {"type": 9, "data": {"title": "t"}}))
    assert set(codes) == {("data", "custom_id"), ("data", "components")}


def test_message_type_for_is_20_or_23_when_answering_commands() -> None:
    assert interaction_rules.message_type_for(2, {"type": 1}) == 20
    assert interaction_rules.message_type_for(2, {"type": 2}) == 23
    assert interaction_rules.message_type_for(3, {}) == 0
