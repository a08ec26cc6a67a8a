"""The feature kit: every service a feature may use, built once per process.

A feature's factory (``levels_module(kit)``) receives one :class:`FeatureKit` and keeps
what it needs; it never opens a client, a pool or a cache of its own, and never imports
another feature. The worker's kit has every service; ``shoal migrate`` and ``shoal
sync-commands`` build the same kit with only what they have (no Redis, no REST), and a
service they lack raises :class:`KitServiceUnavailableError` naming it and the process,
so a factory that used a service while declaring its module fails loudly instead of
half-working. Build it with :mod:`shoal.kit.building`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Final, TypeVar

from shoal.kit.role_lookup import RoleLookup

if TYPE_CHECKING:
    from collections.abc import Callable

    import asyncpg
    import hikari
    from redis.asyncio import Redis

    from shoal.interactions.gating import GenerationView
    from shoal.interactions.generations import EventClaims
    from shoal.interactions.identity import WorkerIdentity
    from shoal.kit.images import ImagePool
    from shoal.kit.settings import FeatureSettings
    from shoal.observability.metrics import Metrics
    from shoal.storage.redis_keys import RedisKeys

__all__ = ["DISCORD_CDN_URL", "Clock", "FeatureKit", "KitServiceUnavailableError"]

DISCORD_CDN_URL: Final = "https://cdn.discordapp.com"
"""Where Discord serves avatars; the simulator serves them on its own base URL."""

T = TypeVar("T")


class KitServiceUnavailableError(RuntimeError):
    """A feature asked the kit for a service this process does not have."""

    def __init__(self, service: str, process: str) -> None:
        """Name the missing ``service`` and the ``process`` that lacks it."""
        super().__init__(
            f"{service} is not available in {process}: a feature may use it only while "
            f"handling events in a worker, not while declaring its module"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Clock:
    """Time as features read it (tests pass their own functions)."""

    now: Callable[[], float] = time.time
    """Unix seconds (stored timestamps, Discord's snowflakes)."""
    monotonic: Callable[[], float] = time.monotonic
    """Seconds for measuring intervals."""


class FeatureKit:
    """The services of one process, handed to every feature factory (see the module docstring)."""

    __slots__ = (
        "_app",
        "_event_claims",
        "_generation",
        "_identity",
        "_images",
        "_postgres",
        "_redis",
        "_role_lookup",
        "_settings",
        "cdn_url",
        "clock",
        "keys",
        "metrics",
        "process",
    )

    def __init__(  # noqa: PLR0913 - one keyword per service, all optional but the basics
        self,
        *,
        process: str,
        keys: RedisKeys,
        metrics: Metrics,
        clock: Clock | None = None,
        cdn_url: str = DISCORD_CDN_URL,
        redis: Redis | None = None,
        postgres: asyncpg.Pool[asyncpg.Record] | None = None,
        settings: FeatureSettings | None = None,
        event_claims: EventClaims | None = None,
        images: ImagePool | None = None,
        identity: WorkerIdentity | None = None,
        generation: GenerationView | None = None,
        app: hikari.GatewayBotAware | None = None,
    ) -> None:
        """Hold the services ``process`` has; the others raise when asked for."""
        self.process: Final = process
        """Which process built it (``worker``, ``migrate``, ``sync-commands``, a test)."""
        self.keys: Final = keys
        """Redis key builder of this bot (features use ``keys.feature(name, ...)``)."""
        self.metrics: Final = metrics
        """The process's metrics; ``metrics.registry`` takes a feature's own."""
        self.clock: Final = clock or Clock()
        """Time."""
        self.cdn_url: Final = cdn_url.rstrip("/")
        """Discord's CDN (avatars), or the simulator's."""
        self._redis = redis
        self._postgres = postgres
        self._settings = settings
        self._event_claims = event_claims
        self._images = images
        self._identity = identity
        self._generation = generation
        self._app = app
        self._role_lookup: RoleLookup | None = None

    def _need(self, service: T | None, name: str) -> T:
        if service is None:
            raise KitServiceUnavailableError(name, self.process)
        return service

    @property
    def redis(self) -> Redis:
        """The shared Redis client (bytes in, bytes out)."""
        return self._need(self._redis, "Redis")

    @property
    def postgres(self) -> asyncpg.Pool[asyncpg.Record]:
        """The PostgreSQL pool (every feature's record)."""
        return self._need(self._postgres, "PostgreSQL")

    @property
    def settings(self) -> FeatureSettings:
        """Per-guild typed settings and module flags, cached and invalidated over pub/sub."""
        return self._need(self._settings, "guild settings")

    @property
    def event_claims(self) -> EventClaims:
        """Claims for side effects that must happen once across workers and generations."""
        return self._need(self._event_claims, "event claims")

    @property
    def images(self) -> ImagePool:
        """Renders images off the event loop, cached and time-bounded."""
        return self._need(self._images, "the image pool")

    @property
    def identity(self) -> WorkerIdentity:
        """This worker's pod, generation and shard count."""
        return self._need(self._identity, "the worker identity")

    @property
    def generation(self) -> GenerationView:
        """Whether this worker's generation is the active one."""
        return self._need(self._generation, "the generation view")

    @property
    def app(self) -> hikari.GatewayBotAware:
        """The gateway bot: REST, shards, its own user."""
        return self._need(self._app, "the gateway bot")

    @property
    def rest(self) -> hikari.api.RESTClient:
        """Discord's REST API, through the fleet's shared limits."""
        return self.app.rest

    @property
    def roles(self) -> RoleLookup:
        """The bot's roles and permissions per guild, for checks before giving a role."""
        if self._role_lookup is None:
            self._role_lookup = RoleLookup(self.rest)
        return self._role_lookup

    def avatar_url(self, user_id: int, avatar_hash: str | None, *, size: int = 128) -> str:
        """Return a user's avatar URL on the CDN (a default avatar when they have none)."""
        if avatar_hash is None:
            return f"{self.cdn_url}/embed/avatars/{(user_id >> 22) % 6}.png"
        return f"{self.cdn_url}/avatars/{user_id}/{avatar_hash}.png?size={size}"

    def with_app(self, app: hikari.GatewayBotAware) -> FeatureKit:
        """Return this kit with the gateway bot set (the bot is built after the services)."""
        return FeatureKit(
            process=self.process,
            keys=self.keys,
            metrics=self.metrics,
            clock=self.clock,
            cdn_url=self.cdn_url,
            redis=self._redis,
            postgres=self._postgres,
            settings=self._settings,
            event_claims=self._event_claims,
            images=self._images,
            identity=self._identity,
            generation=self._generation,
            app=app,
        )
