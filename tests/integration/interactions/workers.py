"""Real hikari bots with Shoal's arc client, the way a worker builds them, on the simulator."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any, Final

import hikari

from shoal.interactions.identity import WorkerIdentity
from shoal.kit.building import build_modules, declaring_kit, migrations_of, open_kit, wire_bot
from shoal.kit.images import ImagePool, ImagePoolSettings
from shoal.observability.metrics import Metrics
from shoal.storage.migrating import apply_migrations
from shoal_sim.discord.settings import SimSettings
from tests.integration.sim.gateway.hikari_bots import gateway_bot, running_bot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    import arc
    import asyncpg
    from redis.asyncio import Redis

    from shoal.interactions.gating import GenerationView
    from shoal.interactions.middleware import CommandSettings
    from shoal.interactions.modules import Module
    from shoal.kit.building import ModuleFactory
    from shoal.kit.services import FeatureKit
    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator

__all__ = ["FixedGeneration", "Worker", "command_world", "running_worker"]

_WORLD: Final = SimSettings(
    guilds=8,
    members_per_guild=3,
    channels_per_guild=2,
    roles_per_guild=1,
    max_concurrency=16,  # hikari waits 5 s between windows of max_concurrency shards
    identify_window_s=0.05,
)


def command_world(**overrides: Any) -> SimSettings:  # noqa: ANN401 - SimSettings fields
    """Return settings for a small world where any shard layout identifies at once."""
    return dataclasses.replace(_WORLD, **overrides)


@dataclasses.dataclass(slots=True)
class FixedGeneration:
    """A view of the active generation that changes only when the test says so."""

    is_active: bool = True
    """Whether this worker's listeners run."""

    @property
    def answers_unclaimed(self) -> bool:
        """Whether it answers interactions nobody could claim: when active (no switch)."""
        return self.is_active


@dataclasses.dataclass(frozen=True, slots=True)
class Worker:
    """A started bot, its command client and its metrics."""

    bot: hikari.GatewayBot
    client: arc.GatewayClient
    metrics: Metrics
    identity: WorkerIdentity
    kit: FeatureKit
    """The worker's feature kit, bound to its bot."""

    def commands_counted(self, command: str, outcome: str) -> float:
        """Return ``shoal_commands_total`` for one command and outcome."""
        value = self.metrics.registry.get_sample_value(
            "shoal_commands_total", {"command": command, "outcome": outcome}
        )
        return value or 0.0

    def unanswered_counted(self, command: str) -> float:
        """Return ``shoal_interactions_unanswered_total`` for one command."""
        value = self.metrics.registry.get_sample_value(
            "shoal_interactions_unanswered_total", {"command": command}
        )
        return value or 0.0


@contextlib.asynccontextmanager
async def running_worker(  # noqa: PLR0913 - one keyword per thing a test varies
    sim: Simulator,
    redis: Redis,
    keys: RedisKeys,
    *,
    postgres: asyncpg.Pool[asyncpg.Record],
    modules: Sequence[Module] = (),
    features: Sequence[ModuleFactory] = (),
    shard_ids: Sequence[int] = (0,),
    shard_count: int = 1,
    generation: int = 0,
    settings: CommandSettings | None = None,
    generation_view: GenerationView | None = None,
    intents: hikari.Intents = hikari.Intents.NONE,
    images: bool = False,
) -> AsyncIterator[Worker]:
    """Start a bot on ``shard_ids`` of ``shard_count`` with ``modules``; READY on entry.

    Wired exactly as a worker wires itself (``shoal.kit.building``): the feature kit on
    ``redis`` and ``postgres``, then ``features`` (factories taking the kit) and the
    ready-made ``modules``. Module listeners run while ``generation_view`` says so (by
    default: always); the features' start hooks run before the shards connect and their
    stop hooks after they closed. ``images`` starts an image pool (render processes) for
    the kit, as a worker does; without it images are unavailable.
    """
    bot = gateway_bot(sim, intents=intents)
    identity = WorkerIdentity(
        pod_name=f"worker-g{generation}", generation=generation, shard_count=shard_count
    )
    metrics = Metrics()
    view = FixedGeneration() if generation_view is None else generation_view
    factories = [*features, *(_ready(module) for module in modules)]
    declared = build_modules(declaring_kit("test migrate"), factories)
    await apply_migrations(postgres, migrations_of(declared))  # as `shoal migrate` would
    pool = ImagePool(metrics.registry, ImagePoolSettings(workers=1)) if images else None
    if pool is not None:
        await pool.start()
    async with contextlib.AsyncExitStack() as stack:
        if pool is not None:
            stack.push_async_callback(pool.close)
        kit = await stack.enter_async_context(
            open_kit(
                process=f"test worker-g{generation}",
                redis=redis,
                postgres=postgres,
                keys=keys,
                metrics=metrics,
                identity=identity,
                generation=view,
                cdn_url=sim.base_url,
                images=pool,
            )
        )
        wired = wire_bot(bot, kit, factories, command_settings=settings)
        runtime = wired.runtime
        if runtime.has_taps:
            # A worker feeds taps from ShardWorkerBot's raw-event seam; a plain hikari bot
            # offers the same raw dispatch as ShardPayloadEvent.
            async def feed(event: hikari.ShardPayloadEvent) -> None:
                runtime.feed(event.name, dict(event.payload))

            bot.subscribe(hikari.ShardPayloadEvent, feed)
        await runtime.start()
        try:
            async with running_bot(bot, shard_ids=shard_ids, shard_count=shard_count):
                await wired.client.wait_until_started()
                yield Worker(
                    bot=bot,
                    client=wired.client,
                    metrics=metrics,
                    identity=identity,
                    kit=kit.with_app(bot),
                )
        finally:
            await wired.runtime.stop()


def _ready(module: Module) -> ModuleFactory:
    """Return a factory handing out ``module`` (a test module built without the kit)."""
    return lambda _kit: module
