"""Reading a guild's id, name and feature flags from a raw GUILD_CREATE or GUILD_UPDATE."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.kit.guilds import GuildSeen, guild_facts


def test_a_guild_is_read_with_its_name_and_features() -> None:
    payload = {
        "id": "42",
        "name": "Shoal",
        "features": ["MEMBER_VERIFICATION_GATE_ENABLED", "COMMUNITY"],
        "members": [{"user": {"id": "1"}}],
    }
    assert guild_facts(payload) == GuildSeen(
        42, "Shoal", frozenset({"MEMBER_VERIFICATION_GATE_ENABLED", "COMMUNITY"})
    )


def test_missing_or_null_features_read_as_none() -> None:
    assert guild_facts({"id": "1", "name": "a"}) == GuildSeen(1, "a", frozenset())
    assert guild_facts({"id": "1", "name": "a", "features": None}) == GuildSeen(1, "a", frozenset())


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "1", "unavailable": True},  # an outage: its real GUILD_CREATE comes later
        {"name": "no id"},
        {"id": "not a number", "name": "a"},
        {"id": "1"},
        {"id": "1", "name": "a", "features": 7},
    ],
)
def test_an_unavailable_or_malformed_guild_gives_none(payload: dict[str, Any]) -> None:
    assert guild_facts(payload) is None
