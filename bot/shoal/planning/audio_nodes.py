"""How many Lavalink nodes the fleet runs, and how loaded each node is.

Pure: the operator reads each node's ``GET /v4/stats``, parses it here
(:func:`parse_lavalink_stats`), scores it (:func:`lavalink_penalty`, the load-balancing
penalty lavalink.py uses), adds up the playing players (:func:`total_playing_players`)
and scales the Lavalink deployment to :func:`plan_lavalink_nodes`'s answer. The plan
scales up at once and down one node at a time past a margin, so a count near a boundary
does not flap. Does not own the HTTP call, nor which node a player lands on.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "LavalinkNodeStats",
    "lavalink_penalty",
    "parse_lavalink_stats",
    "plan_lavalink_nodes",
    "total_playing_players",
]

#: Scale down only when the players would fill the remaining nodes to at most this share
#: of the target: a node taken away must not be needed back on the next small rise.
_SCALE_DOWN_FILL: Final = 0.75


def plan_lavalink_nodes(
    *,
    fixed_nodes: int | None,
    playing_players: int | None,
    current_nodes: int,
    target_players_per_node: int,
    min_nodes: int,
    max_nodes: int,
) -> int:
    """Return the Lavalink node count to run.

    Args:
        fixed_nodes: A count from the spec; it wins as given (not clamped).
        playing_players: Players playing now across the nodes; None when unknown.
        current_nodes: The nodes running now.
        target_players_per_node: Aim for this many playing players per node.
        min_nodes: Never plan fewer nodes.
        max_nodes: Never plan more nodes.

    Raises:
        ValueError: naming the bad argument (negative, target below 1, min above max).
    """
    _check_arguments(
        fixed_nodes=fixed_nodes,
        playing_players=playing_players,
        current_nodes=current_nodes,
        target_players_per_node=target_players_per_node,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
    )
    if fixed_nodes is not None:
        return fixed_nodes
    current = min(max(current_nodes, min_nodes), max_nodes)
    if playing_players is None:  # unknown: changing the count would be a guess
        return current
    wanted = min(max(math.ceil(playing_players / target_players_per_node), min_nodes), max_nodes)
    if wanted > current:
        return wanted
    fewer = current - 1
    if fewer >= min_nodes and playing_players <= fewer * target_players_per_node * _SCALE_DOWN_FILL:
        return fewer
    return current


def _check_arguments(
    *,
    fixed_nodes: int | None,
    playing_players: int | None,
    current_nodes: int,
    target_players_per_node: int,
    min_nodes: int,
    max_nodes: int,
) -> None:
    """Raise :class:`ValueError` naming the first argument no plan can use."""
    for name, value in (
        ("fixed_nodes", fixed_nodes),
        ("playing_players", playing_players),
        ("current_nodes", current_nodes),
        ("min_nodes", min_nodes),
        ("max_nodes", max_nodes),
    ):
        if value is not None and value < 0:
            msg = f"{name} must not be negative, got {value}"
            raise ValueError(msg)
    if target_players_per_node < 1:
        msg = f"target_players_per_node must be at least 1, got {target_players_per_node}"
        raise ValueError(msg)
    if min_nodes > max_nodes:
        msg = f"min_nodes ({min_nodes}) must not exceed max_nodes ({max_nodes})"
        raise ValueError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class LavalinkNodeStats:
    """What one Lavalink node says about its load (``GET /v4/stats``)."""

    players: int
    """Players connected to the node."""
    playing_players: int
    """Players playing a track."""
    system_load: float
    """The host's CPU load, 0 to 1 (``cpu.systemLoad``)."""
    frames_sent: int | None
    """Audio frames sent per minute; None when the node gave no ``frameStats``."""
    frames_nulled: int | None
    """Audio frames nulled per minute; None when the node gave no ``frameStats``."""
    frames_deficit: int | None
    """Audio frames missing per minute; None when the node gave no ``frameStats``."""


def parse_lavalink_stats(body: Mapping[str, object]) -> LavalinkNodeStats:
    """Read :class:`LavalinkNodeStats` from the decoded JSON of ``GET /v4/stats``.

    Raises:
        ValueError: naming the field that is missing or of the wrong type.
    """
    players = _count(body, "players")
    playing = _count(body, "playingPlayers")
    cpu = _object(body, "cpu")
    load = cpu.get("systemLoad")
    if not isinstance(load, int | float) or isinstance(load, bool) or not math.isfinite(load):
        msg = f"Lavalink stats: cpu.systemLoad must be a number, got {load!r}"
        raise ValueError(msg)
    frames = body.get("frameStats")
    if frames is None:
        return LavalinkNodeStats(players, playing, float(load), None, None, None)
    if not isinstance(frames, dict):
        msg = f"Lavalink stats: frameStats must be an object or null, got {frames!r}"
        raise ValueError(msg)  # noqa: TRY004 - one error type for any malformed payload
    return LavalinkNodeStats(
        players=players,
        playing_players=playing,
        system_load=float(load),
        frames_sent=_count(frames, "sent", prefix="frameStats."),
        frames_nulled=_count(frames, "nulled", prefix="frameStats."),
        # A node that sent more frames than it expected reports a negative deficit.
        frames_deficit=_integer(frames, "deficit", prefix="frameStats."),
    )


def lavalink_penalty(stats: LavalinkNodeStats) -> float:
    """Return the node's load-balancing penalty (lowest gets new players).

    lavalink.py's and Lavalink's reference client's formula: the playing players, a CPU
    term growing 5 % per point of system load, and, only when the node reported frame
    stats, terms for nulled (weighted twice) and missing frames. ``inf`` when a term is
    too large for a float (a node that overloaded is never the best choice).
    """
    penalty = stats.playing_players + _grown(1.05, 100 * stats.system_load) * 10 - 10
    if stats.frames_nulled is not None and stats.frames_deficit is not None:
        penalty += 2 * (_grown(1.03, 500 * stats.frames_nulled / 3000) * 300 - 300)
        penalty += _grown(1.03, 500 * stats.frames_deficit / 3000) * 600 - 600
    return penalty


def total_playing_players(stats: Iterable[LavalinkNodeStats | None]) -> int | None:
    """Return the playing players across the nodes; None unless every node answered.

    A node that did not answer may be playing any number of tracks: a partial sum would
    look like a drop in load and scale the fleet down while a node is in trouble. No
    nodes at all is unknown too (nothing was measured).
    """
    total = 0
    is_empty = True
    for node in stats:
        if node is None:
            return None
        total += node.playing_players
        is_empty = False
    return None if is_empty else total


def _grown(base: float, exponent: float) -> float:
    try:
        return float(base**exponent)
    except OverflowError:
        return math.inf


def _object(body: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = body.get(key)
    if not isinstance(value, dict):
        msg = f"Lavalink stats: {key} must be an object, got {value!r}"
        raise ValueError(msg)  # noqa: TRY004 - one error type for any malformed payload
    return value


def _integer(body: Mapping[str, object], key: str, *, prefix: str = "") -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"Lavalink stats: {prefix}{key} must be an integer, got {value!r}"
        raise ValueError(msg)  # noqa: TRY004 - one error type for any malformed payload
    return value


def _count(body: Mapping[str, object], key: str, *, prefix: str = "") -> int:
    value = _integer(body, key, prefix=prefix)
    if value < 0:
        msg = f"Lavalink stats: {prefix}{key} must not be negative, got {value}"
        raise ValueError(msg)
    return value
