"""Role safety: dangerous permissions, Discord's role order, refusals, one-PATCH role lists."""

from __future__ import annotations

import hikari
import pytest

from shoal.kit.roles import (
    DANGEROUS_PERMISSION_NAMES,
    DANGEROUS_PERMISSIONS,
    MANAGE_ROLES,
    RefusalReason,
    RoleFacts,
    combined_permissions,
    everyone_permissions,
    from_hikari,
    is_below,
    member_roles_after,
    self_role_refusal,
    top_position,
)

_GUILD = 900
_P = hikari.Permissions
_EXPECTED_DANGEROUS = (
    _P.ADMINISTRATOR,
    _P.MANAGE_GUILD,
    _P.MANAGE_ROLES,
    _P.MANAGE_CHANNELS,
    _P.BAN_MEMBERS,
    _P.KICK_MEMBERS,
    _P.MANAGE_WEBHOOKS,
    _P.MANAGE_MESSAGES,
    _P.MODERATE_MEMBERS,
    _P.MENTION_ROLES,  # Discord's MENTION_EVERYONE
    _P.MANAGE_NICKNAMES,
    _P.MANAGE_GUILD_EXPRESSIONS,
    _P.MANAGE_EVENTS,
    _P.MANAGE_THREADS,
    _P.VIEW_AUDIT_LOG,
    _P.VIEW_GUILD_INSIGHTS,
)
_BOT = RoleFacts(id=50, name="Shoal", position=10, permissions=MANAGE_ROLES, is_managed=True)
_EVERYONE = RoleFacts(id=_GUILD, name="@everyone", position=0, is_everyone=True)


def _role(role_id: int = 60, *, position: int = 5, permissions: int = 0) -> RoleFacts:
    return RoleFacts(id=role_id, name=f"r{role_id}", position=position, permissions=permissions)


def test_dangerous_permissions_match_hikari_bits_when_compared_one_by_one() -> None:
    assert set(DANGEROUS_PERMISSION_NAMES) == {int(bit) for bit in _EXPECTED_DANGEROUS}
    combined = _P.NONE
    for bit in _EXPECTED_DANGEROUS:
        combined |= bit
    assert combined == DANGEROUS_PERMISSIONS
    assert all(bit.bit_count() == 1 for bit in DANGEROUS_PERMISSION_NAMES)


@pytest.mark.parametrize("bit", [int(bit) for bit in _EXPECTED_DANGEROUS])
def test_self_role_refusal_refuses_when_the_role_has_any_dangerous_bit(bit: int) -> None:
    role = _role(permissions=bit | int(_P.SEND_MESSAGES))

    refusal = self_role_refusal(role, bot_top=_BOT, bot_permissions=MANAGE_ROLES)

    assert refusal is not None
    assert refusal.reason is RefusalReason.DANGEROUS_PERMISSIONS
    assert DANGEROUS_PERMISSION_NAMES[bit] in refusal.message
    assert "@r60" in refusal.message


def test_self_role_refusal_names_every_dangerous_permission_when_several() -> None:
    role = RoleFacts(
        id=61, name="Mods", position=3, permissions=int(_P.BAN_MEMBERS | _P.KICK_MEMBERS)
    )

    refusal = self_role_refusal(role, bot_top=_BOT, bot_permissions=MANAGE_ROLES)

    assert refusal is not None
    assert refusal.message == (
        "The role @Mods has Kick Members and Ban Members, which self-assigned roles must never "
        "have. Pick a role without moderation permissions."
    )


def test_self_role_refusal_accepts_when_the_role_is_harmless_and_below_the_bot() -> None:
    role = _role(permissions=int(_P.SEND_MESSAGES | _P.VIEW_CHANNEL | _P.CHANGE_NICKNAME))

    assert self_role_refusal(role, bot_top=_BOT, bot_permissions=MANAGE_ROLES) is None
    assert self_role_refusal(role, bot_top=_BOT, bot_permissions=int(_P.ADMINISTRATOR)) is None


def test_self_role_refusal_refuses_when_the_role_is_at_the_bots_position_and_older() -> None:
    tied_older = _role(40, position=_BOT.position)

    refusal = self_role_refusal(tied_older, bot_top=_BOT, bot_permissions=MANAGE_ROLES)

    assert refusal is not None
    assert refusal.reason is RefusalReason.NOT_BELOW_BOT
    assert refusal.message == (
        "The role @r40 is above my highest role @Shoal: drag my role above it in Server "
        "Settings -> Roles."
    )


def test_self_role_refusal_refuses_when_the_role_is_the_bots_own_top_role() -> None:
    refusal = self_role_refusal(_BOT, bot_top=_BOT, bot_permissions=MANAGE_ROLES)

    assert refusal is not None
    assert refusal.reason is RefusalReason.MANAGED  # managed is said before the order


def test_self_role_refusal_refuses_when_above_the_bot_or_the_bot_has_no_role() -> None:
    above = _role(position=11)

    assert self_role_refusal(above, bot_top=_BOT, bot_permissions=MANAGE_ROLES) is not None
    no_role = self_role_refusal(_role(position=1), bot_top=None, bot_permissions=MANAGE_ROLES)
    assert no_role is not None
    assert no_role.reason is RefusalReason.NOT_BELOW_BOT
    assert "no role of my own" in no_role.message


def test_self_role_refusal_refuses_when_the_role_is_managed() -> None:
    booster = RoleFacts(id=70, name="Booster", position=2, is_managed=True)

    refusal = self_role_refusal(booster, bot_top=_BOT, bot_permissions=MANAGE_ROLES)

    assert refusal is not None
    assert refusal.reason is RefusalReason.MANAGED
    assert "@Booster" in refusal.message


def test_self_role_refusal_refuses_when_the_role_is_everyone() -> None:
    refusal = self_role_refusal(_EVERYONE, bot_top=_BOT, bot_permissions=MANAGE_ROLES)

    assert refusal is not None
    assert refusal.reason is RefusalReason.EVERYONE


def test_self_role_refusal_refuses_every_role_when_the_bot_lacks_manage_roles() -> None:
    refusal = self_role_refusal(
        _role(), bot_top=_BOT, bot_permissions=int(_P.SEND_MESSAGES | _P.BAN_MEMBERS)
    )

    assert refusal is not None
    assert refusal.reason is RefusalReason.BOT_LACKS_MANAGE_ROLES
    assert "Manage Roles" in refusal.message


def test_is_below_breaks_position_ties_by_id_when_positions_are_equal() -> None:
    older = _role(10, position=4)
    newer = _role(11, position=4)

    assert is_below(newer, older)
    assert not is_below(older, newer)
    assert not is_below(older, older)
    assert not is_below(older, None)


def test_top_position_picks_the_highest_bot_role_when_positions_tie() -> None:
    older = _role(10, position=4)
    newer = _role(11, position=4)
    low = _role(12, position=1)
    other = _role(13, position=9)

    assert top_position({11, 10, 12}, [low, newer, older, other, _EVERYONE]) == older
    assert top_position({12}, [low, other]) == low
    assert top_position({_GUILD}, [_EVERYONE]) is None
    assert top_position(set(), [low]) is None


def test_combined_permissions_include_everyone_when_computed_for_a_member() -> None:
    everyone = RoleFacts(id=_GUILD, name="@everyone", position=0, permissions=1, is_everyone=True)
    roles = [everyone, _role(1, permissions=2), _role(2, permissions=4)]

    assert combined_permissions({1}, roles) == 3


def test_member_roles_after_returns_the_full_list_when_roles_change() -> None:
    assert member_roles_after([3, 1], add=[2], remove=[1]) == (3, 2)
    assert member_roles_after([3], add=[5, 4]) == (3, 4, 5)
    assert member_roles_after([3, 1], remove=[1, 9]) == (3,)


def test_member_roles_after_returns_none_when_nothing_changes() -> None:
    assert member_roles_after([3, 1], add=[1], remove=[7]) is None
    assert member_roles_after([], add=[], remove=[]) is None


def test_member_roles_after_adds_when_a_role_is_both_added_and_removed() -> None:
    assert member_roles_after([1], add=[2], remove=[2, 1]) == (2,)


def test_member_roles_after_drops_duplicates_when_the_current_list_repeats_a_role() -> None:
    assert member_roles_after([1, 1], add=[2]) == (1, 2)


def test_from_hikari_reads_the_facts_when_given_a_hikari_role() -> None:
    role = hikari.Role(
        app=None,  # type: ignore[arg-type]  # not needed to read fields
        id=hikari.Snowflake(61),
        name="Mods",
        color=hikari.Color(0),
        colors=None,  # type: ignore[arg-type]
        guild_id=hikari.Snowflake(_GUILD),
        is_hoisted=False,
        icon_hash=None,
        unicode_emoji=None,
        is_managed=True,
        is_mentionable=False,
        permissions=_P.BAN_MEMBERS,
        position=3,
        bot_id=None,
        integration_id=None,
        is_premium_subscriber_role=False,
        subscription_listing_id=None,
        is_available_for_purchase=False,
        is_guild_linked_role=False,
    )

    assert from_hikari(role) == RoleFacts(
        id=61, name="Mods", position=3, permissions=4, is_managed=True, is_everyone=False
    )


def test_only_permissions_a_role_adds_to_everyone_count_as_dangerous() -> None:
    mention = int(hikari.Permissions.MENTION_ROLES)
    everyone = RoleFacts(
        id=_GUILD, name="@everyone", position=0, permissions=mention, is_everyone=True
    )
    copied_defaults = _role(permissions=mention)  # a new role copies @everyone's defaults
    banning = _role(permissions=mention | int(hikari.Permissions.BAN_MEMBERS))

    assert everyone_permissions([_BOT, everyone]) == mention
    assert everyone_permissions([_BOT]) == 0
    assert (
        self_role_refusal(copied_defaults, bot_top=_BOT, bot_permissions=MANAGE_ROLES) is not None
    )
    assert (
        self_role_refusal(
            copied_defaults, bot_top=_BOT, bot_permissions=MANAGE_ROLES, everyone=mention
        )
        is None
    )
    refused = self_role_refusal(
        banning, bot_top=_BOT, bot_permissions=MANAGE_ROLES, everyone=mention
    )
    assert refused is not None
    assert refused.reason is RefusalReason.DANGEROUS_PERMISSIONS
    assert "Ban Members" in refused.message
    assert "Mention" not in refused.message
