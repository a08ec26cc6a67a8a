"""Reading a Lavalink node's ``GET /v4/stats``, its penalty and the fleet's playing players."""

from __future__ import annotations

import math
from typing import Any

import pytest

from shoal.planning.audio_nodes import (
    LavalinkNodeStats,
    lavalink_penalty,
    parse_lavalink_stats,
    total_playing_players,
)


def _body(**changes: Any) -> dict[str, Any]:  # noqa: ANN401 - any JSON value, malformed ones too
    """A ``GET /v4/stats`` body in Lavalink v4's documented shape."""
    body: dict[str, Any] = {
        "players": 3,
        "playingPlayers": 2,
        "uptime": 123_456,
        "memory": {"free": 1, "used": 2, "allocated": 3, "reservable": 4},
        "cpu": {"cores": 4, "systemLoad": 0.25, "lavalinkLoad": 0.1},
        "frameStats": {"sent": 6000, "nulled": 10, "deficit": -3},
    }
    return body | changes


def _stats(
    *, playing: int = 0, load: float = 0.0, nulled: int | None = None, deficit: int | None = None
) -> LavalinkNodeStats:
    has_frames = nulled is not None
    return LavalinkNodeStats(
        players=playing,
        playing_players=playing,
        system_load=load,
        frames_sent=6000 if has_frames else None,
        frames_nulled=nulled,
        frames_deficit=deficit,
    )


def test_parse_lavalink_stats_reads_every_field_when_the_body_is_well_formed() -> None:
    stats = parse_lavalink_stats(_body())
    assert stats == LavalinkNodeStats(
        players=3,
        playing_players=2,
        system_load=0.25,
        frames_sent=6000,
        frames_nulled=10,
        frames_deficit=-3,
    )


@pytest.mark.parametrize("frames", [None, "absent"])
def test_parse_lavalink_stats_has_no_frame_stats_when_frame_stats_are_null_or_absent(
    frames: str | None,
) -> None:
    body = _body(frameStats=None)
    if frames == "absent":
        del body["frameStats"]
    stats = parse_lavalink_stats(body)
    assert (stats.frames_sent, stats.frames_nulled, stats.frames_deficit) == (None, None, None)
    assert stats.system_load == 0.25


def test_parse_lavalink_stats_reads_an_integer_load_when_the_load_is_whole() -> None:
    stats = parse_lavalink_stats(_body(cpu={"cores": 1, "systemLoad": 1, "lavalinkLoad": 0}))
    assert stats.system_load == 1.0
    assert isinstance(stats.system_load, float)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "players must be an integer, got None"),
        (_body(players="3"), "players must be an integer, got '3'"),
        (_body(players=True), "players must be an integer, got True"),
        (_body(players=-1), "players must not be negative, got -1"),
        (_body(playingPlayers=2.5), "playingPlayers must be an integer, got 2.5"),
        (_body(cpu=None), "cpu must be an object, got None"),
        (_body(cpu=[0.25]), r"cpu must be an object, got \[0.25\]"),
        (_body(cpu={"cores": 4}), "cpu.systemLoad must be a number, got None"),
        (_body(cpu={"systemLoad": "high"}), "cpu.systemLoad must be a number, got 'high'"),
        (_body(cpu={"systemLoad": math.nan}), "cpu.systemLoad must be a number, got nan"),
        (_body(frameStats=[]), r"frameStats must be an object or null, got \[\]"),
        (_body(frameStats={"sent": 1, "nulled": 0}), "frameStats.deficit must be an integer"),
        (_body(frameStats={"sent": -1, "nulled": 0, "deficit": 0}), "frameStats.sent must not"),
    ],
)
def test_parse_lavalink_stats_raises_naming_the_field_when_the_body_is_malformed(
    body: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_lavalink_stats(body)


# Expected values worked out with 40-digit decimal arithmetic (exp(e * ln b)), not floats.
@pytest.mark.parametrize(
    ("stats", "penalty"),
    [
        # Idle: nothing playing, no load, no frame stats.
        (_stats(), 0.0),
        # Only players: one point each.
        (_stats(playing=7), 7.0),
        # Half load: 1.05^50 = 11.4674...; * 10 - 10.
        (_stats(load=0.5), 104.67399785753676),
        # Full load: 1.05^100 = 131.5013...; * 10 - 10.
        (_stats(playing=3, load=1.0), 3 + 1305.0125784630346),
        # 300 nulled frames: 1.03^50 = 4.3839...; 2 * (* 300 - 300).
        (_stats(nulled=300, deficit=0), 2030.3436112242539),
        # 600 missing frames: 1.03^100 = 19.2186...; * 600 - 600.
        (_stats(nulled=0, deficit=600), 10931.179188513749),
        # Everything at once: the terms add up.
        (
            _stats(playing=10, load=0.5, nulled=300, deficit=600),
            10 + 104.67399785753676 + 2030.3436112242539 + 10931.179188513749,
        ),
        # Frame stats of a healthy node: zero frames lost add nothing.
        (_stats(playing=2, nulled=0, deficit=0), 2.0),
    ],
)
def test_lavalink_penalty_matches_lavalink_py_when_given_a_nodes_stats(
    stats: LavalinkNodeStats, penalty: float
) -> None:
    assert lavalink_penalty(stats) == pytest.approx(penalty, rel=1e-12)


def test_lavalink_penalty_is_infinite_when_a_term_is_too_large_for_a_float() -> None:
    assert lavalink_penalty(_stats(nulled=0, deficit=10**9)) == math.inf


def test_lavalink_penalty_uses_the_formula_from_the_reference_when_load_and_frames_vary() -> None:
    # The formula from docs, written out once more as an independent check.
    for playing, load, nulled, deficit in ((1, 0.1, 5, 7), (40, 0.9, 120, -20), (0, 0.0, 0, 0)):
        expected = (
            playing
            + (1.05 ** (100 * load) * 10 - 10)
            + 2 * (1.03 ** (500 * nulled / 3000) * 300 - 300)
            + (1.03 ** (500 * deficit / 3000) * 600 - 600)
        )
        stats = _stats(playing=playing, load=load, nulled=nulled, deficit=deficit)
        assert lavalink_penalty(stats) == pytest.approx(expected, rel=1e-12)


def test_total_playing_players_adds_the_nodes_up_when_every_node_answered() -> None:
    assert total_playing_players([_stats(playing=3), _stats(playing=0), _stats(playing=9)]) == 12


def test_total_playing_players_is_unknown_when_a_node_did_not_answer() -> None:
    assert total_playing_players([_stats(playing=3), None]) is None


def test_total_playing_players_is_unknown_when_there_are_no_nodes() -> None:
    assert total_playing_players([]) is None
