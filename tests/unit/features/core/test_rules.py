"""What /ping and /shard say."""

from __future__ import annotations

import math

import pytest

from shoal.features.core.rules import format_latency, ping_text, shard_text


@pytest.mark.parametrize(
    ("latency_s", "shown"),
    [(0.0424, "42 ms"), (0.0, "0 ms"), (math.nan, "n/a"), (math.inf, "n/a"), (-1.0, "n/a")],
)
def test_format_latency_shows_whole_ms_or_na_when_not_measured(
    latency_s: float, shown: str
) -> None:
    assert format_latency(latency_s) == shown


def test_ping_text_names_gateway_and_rest_latency_when_both_are_given() -> None:
    assert ping_text(gateway_latency_s=math.nan, rest_latency_s=0.0031) == (
        "Pong! Gateway heartbeat: n/a, REST round trip: 3 ms."
    )


def test_shard_text_says_where_the_guild_is_served_when_in_a_guild_or_dm() -> None:
    assert shard_text(shard_id=5, shard_count=8, pod_name="bot-1", generation=2, is_dm=False) == (
        "This server is on shard 5 of 8, served by pod bot-1 (generation 2)."
    )
    assert shard_text(shard_id=0, shard_count=8, pod_name="bot-0", generation=2, is_dm=True) == (
        "Direct messages are on shard 0 of 8, served by pod bot-0 (generation 2)."
    )


def test_ping_text_says_measuring_when_the_rest_round_trip_is_not_known_yet() -> None:
    assert ping_text(gateway_latency_s=0.0414, rest_latency_s=None) == (
        "Pong! Gateway heartbeat: 41 ms, REST round trip: measuring..."
    )
