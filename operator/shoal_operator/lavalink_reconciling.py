"""Lavalink's part of a reconcile pass: poll the nodes, plan their count, keep objects in line.

A pass reads the Lavalink password from the Secret the spec names, asks every node the
StatefulSet runs now for ``GET /v4/stats`` (``lavalink_stats``), records what they say
(per-node gauges, a log line when a node goes down or comes back), plans the node count
from the playing players (:func:`shoal.planning.audio_nodes.plan_lavalink_nodes`),
applies the ConfigMap, headless Service and StatefulSet, and publishes the node
addresses in the bot's Redis. A node that does not answer is never an error of the pass:
it is counted as down, and the count stays as it is.

Owns those steps and remembering each node's last state. Does not own the decisions
(``shoal.planning.audio_nodes``), the object specs (``children``), the HTTP calls
(``lavalink_stats``) or owner references (the caller's ``apply``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from shoal.planning.audio_nodes import (
    LavalinkNodeStats,
    plan_lavalink_nodes,
    total_playing_players,
)
from shoal_operator import children
from shoal_operator.kube import resource_of
from shoal_operator.lavalink_stats import NodeDown, NodePoll, poll_lavalink_nodes

if TYPE_CHECKING:
    from collections.abc import Mapping

    import aiohttp
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys
    from shoal_operator.kube import KubeApi
    from shoal_operator.metrics import OperatorMetrics
    from shoal_operator.spec import BotSpec

__all__ = ["ApplyChild", "NodeWatch", "reconcile_lavalink"]

_LOG = logging.getLogger(__name__)
_STATEFUL_SET = resource_of("apps/v1", "StatefulSet")
_SERVICE = resource_of("v1", "Service")
_CONFIG_MAP = resource_of("v1", "ConfigMap")


class ApplyChild(Protocol):
    """Applies one child object of the DiscordBot (with its owner reference)."""

    async def __call__(self, obj: dict[str, Any], /) -> object:
        """Create or update ``obj``."""


class NodeWatch:
    """Where each pass's node answers go: the operator's gauges and a log of state changes.

    Remembers whether every node was up on the last pass, so a node that stays down
    logs one WARNING (with the reason) when it goes down and one INFO when it is back,
    not a line per pass. Shared by every DiscordBot of the operator.
    """

    def __init__(self, metrics: OperatorMetrics | None = None) -> None:
        """Record gauges in ``metrics`` (none when None, as in tests of the pass alone)."""
        self.metrics = metrics
        self._is_up: dict[tuple[str, str], dict[str, bool]] = {}

    def observe(self, namespace: str, bot: str, polls: Mapping[str, NodePoll]) -> None:
        """Take one pass's answers by node name; nodes missing from ``polls`` are gone."""
        if self.metrics is not None:
            self.metrics.record_lavalink_nodes(namespace, bot, polls)
        before = self._is_up.pop((namespace, bot), {})
        now: dict[str, bool] = {}
        for node, poll in polls.items():
            was_up = before.get(node)
            now[node] = not isinstance(poll, NodeDown)
            context = {"namespace": namespace, "bot": bot, "node": node}
            if isinstance(poll, NodeDown):
                if was_up is False:
                    _LOG.debug("Lavalink node %s still down: %s", node, poll.reason, extra=context)
                else:
                    _LOG.warning("Lavalink node %s is down: %s", node, poll.reason, extra=context)
            elif was_up is False:
                _LOG.info("Lavalink node %s answers again", node, extra=context)
        if now:
            self._is_up[namespace, bot] = now


async def reconcile_lavalink(  # noqa: PLR0913 - the pass's clients, each used once
    spec: BotSpec,
    *,
    namespace: str,
    bot: str,
    kube: KubeApi,
    redis: Redis,
    keys: RedisKeys,
    http: aiohttp.ClientSession,
    apply: ApplyChild,
    watch: NodeWatch,
) -> tuple[int, int]:
    """Keep Lavalink's objects in line; return (nodes, nodes ready)."""
    set_name = children.lavalink_name(bot)
    existing = await kube.get(_STATEFUL_SET, namespace, set_name)
    if not spec.lavalink.is_enabled:
        watch.observe(namespace, bot, {})
        if existing is not None:
            await kube.delete(_STATEFUL_SET, namespace, set_name)
            await kube.delete(_SERVICE, namespace, set_name)
            await kube.delete(_CONFIG_MAP, namespace, f"{set_name}-config")
            await redis.delete(keys.lavalink_nodes())
        return 0, 0
    current = int((existing or {}).get("spec", {}).get("replicas") or 0)
    polls = await _poll(spec, namespace=namespace, bot=bot, nodes=current, kube=kube, http=http)
    watch.observe(namespace, bot, polls)
    nodes = plan_lavalink_nodes(
        fixed_nodes=spec.lavalink.nodes,
        # Known only when every node answered: a silent node may hold any number of
        # players, and a partial sum would look like falling load and scale down while a
        # node is in trouble. Unknown (None) keeps the current count.
        playing_players=total_playing_players(
            poll if isinstance(poll, LavalinkNodeStats) else None for poll in polls.values()
        ),
        current_nodes=current,
        target_players_per_node=spec.lavalink.target_players_per_node,
        min_nodes=spec.lavalink.min_nodes,
        max_nodes=spec.lavalink.max_nodes,
    )
    for obj in (
        children.lavalink_config_map(namespace=namespace, bot=bot),
        children.lavalink_service(namespace=namespace, bot=bot),
        children.lavalink_stateful_set(spec, namespace=namespace, bot=bot, nodes=nodes),
    ):
        await apply(obj)
    addresses = children.lavalink_node_addresses(namespace=namespace, bot=bot, nodes=nodes)
    await redis.set(keys.lavalink_nodes(), orjson.dumps(addresses))
    ready = int((existing or {}).get("status", {}).get("readyReplicas") or 0)
    return nodes, min(ready, nodes)


async def _poll(
    spec: BotSpec,
    *,
    namespace: str,
    bot: str,
    nodes: int,
    kube: KubeApi,
    http: aiohttp.ClientSession,
) -> dict[str, NodePoll]:
    """Ask the ``nodes`` running nodes for their stats; return the answers by node name."""
    addresses = children.lavalink_node_addresses(namespace=namespace, bot=bot, nodes=nodes)
    names = [f"{children.lavalink_name(bot)}-{i}" for i in range(nodes)]
    ref = spec.lavalink.password_secret
    password = None
    if ref is not None:
        password = await kube.read_secret_key(namespace, ref.name, ref.key)
    if ref is None or not password:
        # The pods cannot start without it either; every node is down for the same reason.
        where = (
            "no passwordSecretRef" if ref is None else f"Secret {ref.name!r} has no key {ref.key!r}"
        )
        down: NodePoll = NodeDown(f"no Lavalink password to ask with ({where})")
        return dict.fromkeys(names, down)
    by_address = await poll_lavalink_nodes(http, addresses, password=password.strip())
    return {name: by_address[address] for name, address in zip(names, addresses, strict=True)}
