"""``/ping``, ``/shard`` and ``/settings``, and the core module that carries them.

hikari-arc reads handler signatures at runtime (options and injected dependencies), so
the types in them are imported at runtime here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import arc

from shoal.features.core.rules import ping_text, shard_text
from shoal.features.core.settings_commands import settings_group
from shoal.interactions.identity import WorkerIdentity  # noqa: TC001 - arc reads it at runtime
from shoal.interactions.modules import Module
from shoal.interactions.replying import reply

if TYPE_CHECKING:
    from shoal.kit.services import FeatureKit

__all__ = ["core_module", "ping", "shard"]


async def ping(
    ctx: arc.GatewayContext,
    identity: WorkerIdentity = arc.inject(),
) -> None:
    """Answer with this shard's gateway heartbeat latency and a measured REST round trip.

    The REST round trip is the answer itself: the response is timed, then edited to show
    it. Both calls are interaction endpoints, outside the bot's global REST limit, so a
    burst of /ping never queues behind other REST work (a ``fetch_my_user`` would).
    """
    bot = ctx.client.app
    shard = bot.shards.get(identity.shard_of(ctx.guild_id))
    gateway_latency_s = shard.heartbeat_latency if shard is not None else bot.heartbeat_latency
    started = time.perf_counter()
    await reply(ctx, ping_text(gateway_latency_s=gateway_latency_s, rest_latency_s=None))
    rest_latency_s = time.perf_counter() - started
    await ctx.edit_initial_response(
        ping_text(gateway_latency_s=gateway_latency_s, rest_latency_s=rest_latency_s)
    )


async def shard(
    ctx: arc.GatewayContext,
    identity: WorkerIdentity = arc.inject(),
) -> None:
    """Answer with this guild's shard, and the pod and generation serving it."""
    await reply(
        ctx,
        shard_text(
            shard_id=identity.shard_of(ctx.guild_id),
            shard_count=identity.shard_count,
            pod_name=identity.pod_name,
            generation=identity.generation,
            is_dm=ctx.guild_id is None,
        ),
    )


def core_module(kit: FeatureKit) -> Module:  # noqa: ARG001 - its handlers inject the kit
    """Return a fresh core module (its plugin can join one client only)."""
    plugin = arc.GatewayPlugin("core")
    plugin.include(arc.slash_command("ping", "Show the gateway and REST latency.")(ping))
    plugin.include(arc.slash_command("shard", "Show which shard and pod serve this server.")(shard))
    settings_group(plugin)
    return Module(name="core", title="Core", is_switchable=False, plugins=(plugin,))
