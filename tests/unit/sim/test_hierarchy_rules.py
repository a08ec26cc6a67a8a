"""Role hierarchy rules of the simulated REST API: who may grant, edit, delete, move a role."""

from __future__ import annotations

import pytest

from shoal_sim.discord import permissions
from shoal_sim.discord.entities import Role
from shoal_sim.discord.rest import errors, hierarchy_rules
from shoal_sim.discord.rest.errors import DiscordError

_GUILD = 100
_BOT_ROLE = 200
_BELOW = 300
_SAME_POSITION_OLDER = 150
_SAME_POSITION_NEWER = 250
_ABOVE = 400
_INTEGRATION = 500


def _roles() -> dict[int, Role]:
    return {
        _GUILD: Role(id=_GUILD, name="@everyone", permissions=permissions.EVERYONE_DEFAULT),
        _BELOW: Role(id=_BELOW, name="member", position=1),
        _BOT_ROLE: Role(
            id=_BOT_ROLE,
            name="bot",
            position=3,
            permissions=permissions.BOT_ROLE,
            is_managed=True,
        ),
        _SAME_POSITION_OLDER: Role(id=_SAME_POSITION_OLDER, name="older", position=3),
        _SAME_POSITION_NEWER: Role(id=_SAME_POSITION_NEWER, name="newer", position=3),
        _ABOVE: Role(id=_ABOVE, name="admin", position=5, permissions=permissions.ADMINISTRATOR),
        _INTEGRATION: Role(id=_INTEGRATION, name="boosters", position=0, is_managed=True),
    }


def _bot(role_ids: list[int] | None = None, *, is_owner: bool = False) -> hierarchy_rules.Actor:
    held = [_BOT_ROLE] if role_ids is None else role_ids
    return hierarchy_rules.actor_of(held, _roles(), _GUILD, is_owner=is_owner)


def _code(excinfo: pytest.ExceptionInfo[DiscordError]) -> tuple[int, int]:
    failure = excinfo.value.failure
    return failure.status, failure.code


def test_actor_has_its_top_role_and_summed_permissions_when_built() -> None:
    bot = _bot()
    assert bot.top == hierarchy_rules.height(_roles()[_BOT_ROLE])
    assert bot.permissions == permissions.BOT_ROLE | permissions.EVERYONE_DEFAULT
    assert bot.can_manage_roles
    assert not bot.is_admin


def test_height_puts_the_older_role_higher_when_positions_are_equal() -> None:
    roles = _roles()
    older, newer = roles[_SAME_POSITION_OLDER], roles[_SAME_POSITION_NEWER]
    assert hierarchy_rules.height(older) > hierarchy_rules.height(roles[_BOT_ROLE])
    assert hierarchy_rules.height(newer) < hierarchy_rules.height(roles[_BOT_ROLE])


def test_check_grant_allows_a_role_when_it_is_below_the_bot() -> None:
    hierarchy_rules.check_grant(_bot(), _roles()[_BELOW], _GUILD)
    hierarchy_rules.check_grant(_bot(), _roles()[_SAME_POSITION_NEWER], _GUILD)


@pytest.mark.parametrize(
    "role_id",
    [_BOT_ROLE, _SAME_POSITION_OLDER, _ABOVE, _INTEGRATION, _GUILD],
    ids=["own-top-role", "same-position-older", "above", "managed", "everyone"],
)
def test_check_grant_refuses_with_50013_when_the_role_is_not_assignable(role_id: int) -> None:
    with pytest.raises(DiscordError) as excinfo:
        hierarchy_rules.check_grant(_bot(), _roles()[role_id], _GUILD)
    assert _code(excinfo) == (403, 50013)


def test_check_grant_refuses_when_the_bot_lacks_manage_roles() -> None:
    roles = _roles()
    weak = hierarchy_rules.actor_of([_SAME_POSITION_OLDER], roles, _GUILD, is_owner=False)
    with pytest.raises(DiscordError) as excinfo:
        hierarchy_rules.check_grant(weak, roles[_BELOW], _GUILD)
    assert excinfo.value.failure == errors.MISSING_PERMISSIONS


def test_check_grant_lets_the_owner_pass_the_hierarchy_but_not_managed_roles() -> None:
    owner = _bot([], is_owner=True)
    hierarchy_rules.check_grant(owner, _roles()[_ABOVE], _GUILD)
    with pytest.raises(DiscordError):
        hierarchy_rules.check_grant(owner, _roles()[_INTEGRATION], _GUILD)


def test_check_member_roles_names_each_unknown_role_when_the_list_has_some() -> None:
    with pytest.raises(DiscordError) as excinfo:
        hierarchy_rules.check_member_roles(
            _bot(), _roles(), _GUILD, before=[], after=[_BELOW, 999, 998]
        )
    assert _code(excinfo) == (400, 50035)
    assert excinfo.value.errors == {
        "roles": {
            "1": {"_errors": [{"code": "UNKNOWN_ROLE", "message": "Unknown role"}]},
            "2": {"_errors": [{"code": "UNKNOWN_ROLE", "message": "Unknown role"}]},
        }
    }


def test_check_member_roles_judges_only_changes_when_a_member_keeps_a_high_role() -> None:
    roles = _roles()
    hierarchy_rules.check_member_roles(
        _bot(), roles, _GUILD, before=[_ABOVE], after=[_ABOVE, _BELOW]
    )
    with pytest.raises(DiscordError) as excinfo:
        hierarchy_rules.check_member_roles(_bot(), roles, _GUILD, before=[_ABOVE], after=[])
    assert _code(excinfo) == (403, 50013)


def test_check_role_create_refuses_when_permissions_exceed_the_bots() -> None:
    hierarchy_rules.check_role_create(_bot(), None)
    hierarchy_rules.check_role_create(_bot(), permissions.KICK_MEMBERS)
    with pytest.raises(DiscordError):
        hierarchy_rules.check_role_create(_bot(), permissions.ADMINISTRATOR)
    with pytest.raises(DiscordError):
        hierarchy_rules.check_role_create(_bot(), permissions.MANAGE_WEBHOOKS)
    hierarchy_rules.check_role_create(_bot([], is_owner=True), permissions.ADMINISTRATOR)


def test_check_role_edit_and_delete_refuse_when_the_role_is_not_below_the_bot() -> None:
    roles = _roles()
    hierarchy_rules.check_role_edit(_bot(), roles[_BELOW], permissions.SPEAK)
    hierarchy_rules.check_role_delete(_bot(), roles[_BELOW])
    for role_id in (_ABOVE, _BOT_ROLE):
        with pytest.raises(DiscordError):
            hierarchy_rules.check_role_edit(_bot(), roles[role_id], None)
        with pytest.raises(DiscordError):
            hierarchy_rules.check_role_delete(_bot(), roles[role_id])
    with pytest.raises(DiscordError):
        hierarchy_rules.check_role_delete(_bot(), roles[_INTEGRATION])


def test_check_positions_refuses_when_a_role_would_reach_the_bots_top() -> None:
    roles = _roles()
    hierarchy_rules.check_positions(_bot(), roles, _GUILD, [(_BELOW, 2)])
    hierarchy_rules.check_positions(_bot(), roles, _GUILD, [(_ABOVE, 5)])  # unchanged
    hierarchy_rules.check_positions(_bot(), roles, _GUILD, [(_BELOW, 3)])  # newer: below
    for move in [(_BELOW, 4), (_BELOW, 9), (_ABOVE, 1)]:
        with pytest.raises(DiscordError) as excinfo:
            hierarchy_rules.check_positions(_bot(), roles, _GUILD, [move])
        assert _code(excinfo) == (403, 50013)


def test_check_positions_answers_50035_when_a_role_is_unknown_or_everyone() -> None:
    with pytest.raises(DiscordError) as excinfo:
        hierarchy_rules.check_positions(_bot(), _roles(), _GUILD, [(999, 1), (_GUILD, 1)])
    assert _code(excinfo) == (400, 50035)
    tree = excinfo.value.errors
    assert tree is not None
    assert tree["0"]["id"]["_errors"][0]["code"] == "UNKNOWN_ROLE"
    assert tree["1"]["id"]["_errors"][0]["code"] == "INVALID_ROLE"
