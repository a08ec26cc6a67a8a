"""The Lavalink node count plan."""

from __future__ import annotations

import pytest

from shoal.planning.audio_nodes import plan_lavalink_nodes

_TARGET = 100  # playing players per node in these tables


def _plan(
    *,
    playing: int | None,
    current: int,
    fixed: int | None = None,
    min_nodes: int = 1,
    max_nodes: int = 10,
    target: int = _TARGET,
) -> int:
    return plan_lavalink_nodes(
        fixed_nodes=fixed,
        playing_players=playing,
        current_nodes=current,
        target_players_per_node=target,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
    )


@pytest.mark.parametrize(
    ("fixed", "playing", "current", "nodes"),
    [
        (3, 5_000, 1, 3),
        (3, None, 7, 3),
        (0, 500, 2, 0),  # the spec may turn audio off
        (25, 0, 2, 25),  # above max_nodes: the spec wins
    ],
)
def test_plan_lavalink_nodes_takes_the_spec_as_given_when_it_fixes_the_count(
    fixed: int, playing: int | None, current: int, nodes: int
) -> None:
    assert _plan(fixed=fixed, playing=playing, current=current) == nodes


@pytest.mark.parametrize(
    ("current", "min_nodes", "max_nodes", "nodes"),
    [
        (0, 1, 10, 1),  # nothing runs yet: the minimum
        (0, 2, 10, 2),
        (0, 0, 10, 0),
        (4, 1, 10, 4),
        (12, 1, 10, 10),  # above a lowered maximum
        (1, 3, 10, 3),  # below a raised minimum
    ],
)
def test_plan_lavalink_nodes_keeps_the_current_count_clamped_when_players_are_unknown(
    current: int, min_nodes: int, max_nodes: int, nodes: int
) -> None:
    assert _plan(playing=None, current=current, min_nodes=min_nodes, max_nodes=max_nodes) == nodes


@pytest.mark.parametrize(
    ("playing", "current", "nodes"),
    [
        (0, 0, 1),
        (1, 1, 1),
        (100, 1, 1),  # exactly full
        (101, 1, 2),
        (450, 2, 5),  # straight to what is needed, not one at a time
        (1_000, 3, 10),
        (5_000, 3, 10),  # capped at max_nodes
        (250, 3, 3),
    ],
)
def test_plan_lavalink_nodes_scales_up_at_once_when_players_exceed_the_target(
    playing: int, current: int, nodes: int
) -> None:
    assert _plan(playing=playing, current=current) == nodes


@pytest.mark.parametrize(
    ("playing", "current", "nodes"),
    [
        (300, 5, 4),  # 300 <= 4 * 100 * 0.75
        (301, 5, 5),  # 4 nodes would be over 75 % full
        (0, 5, 4),  # one node at a time, even when idle
        (0, 1, 1),  # never below min_nodes
        (150, 3, 2),  # 150 <= 2 * 100 * 0.75
        (151, 3, 3),
        (75, 2, 1),
        (76, 2, 2),
        (99, 2, 2),  # fits one node, but only just: keep two
    ],
)
def test_plan_lavalink_nodes_scales_down_one_node_only_past_the_margin_when_players_drop(
    playing: int, current: int, nodes: int
) -> None:
    assert _plan(playing=playing, current=current) == nodes


def test_plan_lavalink_nodes_stops_at_the_minimum_when_scaling_down() -> None:
    assert _plan(playing=0, current=3, min_nodes=3) == 3
    assert _plan(playing=0, current=4, min_nodes=3) == 3


@pytest.mark.parametrize("playing", range(0, 1_001, 7))
def test_plan_lavalink_nodes_settles_when_the_player_count_holds(playing: int) -> None:
    # Hysteresis: once the plan is applied, the same count of players keeps it (after at
    # most the one-node-at-a-time walk down).
    nodes = 5
    for _ in range(12):
        nodes = _plan(playing=playing, current=nodes)
    assert _plan(playing=playing, current=nodes) == nodes
    assert playing <= nodes * _TARGET or nodes == 10


@pytest.mark.parametrize("wobble", [(99, 101), (150, 151), (300, 301), (740, 760)])
def test_plan_lavalink_nodes_changes_at_most_once_when_players_wobble_at_a_boundary(
    wobble: tuple[int, int],
) -> None:
    nodes = _plan(playing=wobble[1], current=0)
    counts = [nodes]
    for i in range(40):
        nodes = _plan(playing=wobble[i % 2], current=nodes)
        counts.append(nodes)
    assert len(set(counts)) == 1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"min_nodes": 4, "max_nodes": 3}, "min_nodes"),
        ({"min_nodes": -1}, "min_nodes"),
        ({"max_nodes": -1, "min_nodes": 0}, "max_nodes"),
        ({"target": 0}, "target_players_per_node"),
        ({"current": -1}, "current_nodes"),
        ({"playing": -1}, "playing_players"),
        ({"fixed": -1}, "fixed_nodes"),
    ],
)
def test_plan_lavalink_nodes_raises_naming_the_argument_when_it_is_out_of_range(
    kwargs: dict[str, int], name: str
) -> None:
    arguments: dict[str, int | None] = {"playing": 10, "current": 1}
    with pytest.raises(ValueError, match=name):
        _plan(**{**arguments, **kwargs})  # type: ignore[arg-type]
