"""MessageFacts read from raw MESSAGE_CREATE payloads, and malformed ones refused."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.kit.messages import MessageFacts, message_facts


def _payload(**changes: Any) -> dict[str, Any]:  # noqa: ANN401 - payload fields
    payload: dict[str, Any] = {
        "id": "100",
        "channel_id": "200",
        "guild_id": "300",
        "author": {"id": "400", "username": "ann"},
        "member": {"roles": ["1", "2"]},
        "content": "hello",
    }
    payload.update(changes)
    return payload


def test_a_member_message_is_read_with_its_roles_and_length() -> None:
    assert message_facts(_payload()) == MessageFacts(
        message_id=100,
        guild_id=300,
        channel_id=200,
        author_id=400,
        is_bot=False,
        is_webhook=False,
        role_ids=(1, 2),
        content_length=5,
    )
    facts = message_facts(_payload())
    assert facts is not None
    assert facts.is_from_member


@pytest.mark.parametrize(
    "changes",
    [
        {"author": {"id": "1", "bot": True}},
        {"author": {"id": "1", "system": True}},
        {"webhook_id": "9"},
        {"guild_id": None, "member": None},
    ],
    ids=["bot", "system", "webhook", "dm"],
)
def test_bots_webhooks_and_dms_are_not_from_members(changes: dict[str, Any]) -> None:
    facts = message_facts(_payload(**changes))
    assert facts is not None
    assert not facts.is_from_member


@pytest.mark.parametrize(
    "payload",
    [{}, _payload(id="x"), _payload(author=None), _payload(member={"roles": ["a"]})],
    ids=["empty", "bad-id", "no-author", "bad-role"],
)
def test_a_malformed_payload_gives_none(payload: dict[str, Any]) -> None:
    assert message_facts(payload) is None


def test_missing_content_counts_as_zero_characters() -> None:
    payload = _payload()
    del payload["content"]
    facts = message_facts(payload)
    assert facts is not None
    assert facts.content_length == 0
