"""How many Lavalink nodes the fleet runs: the audio node count plan.

Pure: the operator calls it with the playing-player count it reads and scales the
Lavalink deployment to the answer. It scales up at once and down one node at a time
past a margin, so a count near a boundary does not flap. Does not own how players are
counted, nor which node a player lands on.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["plan_lavalink_nodes"]

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
