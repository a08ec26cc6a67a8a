"""The claims of member events: the same event is one claim, a different one another."""

from __future__ import annotations

from shoal.features.onboarding.claims import JOIN_CLAIM, UPDATE_CLAIM, join_claim, update_claim

_GUILD = 81_384_788_765_712_384
_USER = 91_000_000_000_000_001


def test_join_claim_is_the_same_when_two_generations_see_one_join() -> None:
    first = join_claim(_GUILD, _USER, 1_700_000_000_000)

    assert first == join_claim(_GUILD, _USER, 1_700_000_000_000)
    assert first[0] == JOIN_CLAIM
    assert 0 <= first[1] < 2**63


def test_join_claim_differs_when_the_member_rejoins() -> None:
    assert join_claim(_GUILD, _USER, 1) != join_claim(_GUILD, _USER, 2)
    assert join_claim(_GUILD, _USER, 1) != join_claim(_GUILD + 1, _USER, 1)


def test_update_claim_ignores_role_order_when_the_roles_are_the_same() -> None:
    one = update_claim(_GUILD, _USER, 1, is_pending=False, role_ids=[3, 2])

    assert one == update_claim(_GUILD, _USER, 1, is_pending=False, role_ids=(2, 3, 3))
    assert one[0] == UPDATE_CLAIM


def test_update_claim_differs_when_pending_or_roles_changed() -> None:
    completed = update_claim(_GUILD, _USER, 1, is_pending=False, role_ids=())

    assert completed != update_claim(_GUILD, _USER, 1, is_pending=None, role_ids=())
    assert completed != update_claim(_GUILD, _USER, 1, is_pending=True, role_ids=())
    assert completed != update_claim(_GUILD, _USER, 1, is_pending=False, role_ids=(5,))
