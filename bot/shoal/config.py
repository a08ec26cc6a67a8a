"""Settings: frozen groups built once from the environment by pure functions.

Nothing else in ``shoal`` reads ``os.environ``: the CLI passes the environment here. A
missing or bad value raises :class:`SettingsError` naming the ``SHOAL_*`` variable, so a
misconfigured pod stops at start with a message that says what to fix. What each variable
means and defaults to, as ``--help`` shows it, is :mod:`shoal.config_variables` (a test
keeps it in line with what this module reads).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Final

from shoal.planning.shards import ShardRange, shard_range_for_pod

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_INTENTS",
    "DiscordSettings",
    "HttpSettings",
    "LogSettings",
    "PostgresSettings",
    "RedisSettings",
    "SettingsError",
    "ShardingSettings",
    "WorkerSettings",
    "discord_settings",
    "http_settings",
    "log_settings",
    "postgres_settings",
    "redis_settings",
    "sharding_settings",
    "worker_settings",
]

#: GUILDS | GUILD_MEMBERS | GUILD_MODERATION | GUILD_VOICE_STATES | GUILD_MESSAGES: what
#: the features need. GUILD_MEMBERS is privileged (enable "Server Members Intent" in the
#: developer portal): onboarding sees members join and finish screening, levels sees them
#: leave. Message content is not needed (XP counts messages, never reads them).
DEFAULT_INTENTS: Final = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 7) | (1 << 9)
_DISCORD_API: Final = "https://discord.com/api/v10"
_ORDINAL_SUFFIX: Final = re.compile(r"-(\d+)$")
_NAME: Final = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_LOG_LEVELS: Final = frozenset({"DEBUG", "INFO", "WARNING", "ERROR"})


class SettingsError(ValueError):
    """A ``SHOAL_*`` variable is missing or wrong; the message names it."""

    def __init__(self, variable: str, problem: str) -> None:
        """Record which variable is wrong and why."""
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclasses.dataclass(frozen=True, slots=True)
class DiscordSettings:
    """How to reach Discord (or the simulator) as the bot."""

    token: str = dataclasses.field(repr=False)
    """The bot token (never logged)."""
    rest_url: str
    """REST base URL ending in ``/api/v10``: Discord, the simulator, or a proxy such as
    nirn-proxy (which then owns the global rate limit)."""
    intents: int
    """Gateway intents bit mask."""
    identify_window_s: float = 5.0
    """Each identify bucket's window: Discord's is 5 s; the simulator's may be shorter."""
    cdn_url: str = "https://cdn.discordapp.com"
    """Where avatars are fetched: Discord's CDN, or the simulator's base URL."""


@dataclasses.dataclass(frozen=True, slots=True)
class ShardingSettings:
    """Which shards this pod runs."""

    total_shards: int
    shards_per_pod: int
    ordinal: int
    """This pod's ordinal (from ``SHOAL_POD_ORDINAL`` or the StatefulSet pod name)."""
    generation: int
    """The shard set this pod belongs to; a reshard starts generation + 1 beside it."""
    pod_name: str

    @property
    def shards(self) -> ShardRange:
        """The contiguous range of shards this pod runs."""
        return shard_range_for_pod(self.total_shards, self.shards_per_pod, self.ordinal)


@dataclasses.dataclass(frozen=True, slots=True)
class RedisSettings:
    """The shared Redis."""

    url: str
    namespace: str
    """Prefix of every key (the bot's name), so several bots can share one Redis."""


@dataclasses.dataclass(frozen=True, slots=True)
class PostgresSettings:
    """The shared PostgreSQL."""

    dsn: str = dataclasses.field(repr=False)
    """Connection string (may hold a password: never logged)."""
    pool_max_size: int


@dataclasses.dataclass(frozen=True, slots=True)
class HttpSettings:
    """The worker's health and metrics server."""

    host: str
    port: int


@dataclasses.dataclass(frozen=True, slots=True)
class LogSettings:
    """Logging output."""

    level: str
    is_json: bool


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Everything a shard worker needs."""

    discord: DiscordSettings
    sharding: ShardingSettings
    redis: RedisSettings
    postgres: PostgresSettings
    http: HttpSettings
    log: LogSettings


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(name, "is required and not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int | None = None, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            raise SettingsError(name, "is required and not set")
        return default
    try:
        value = int(raw, 0)
    except ValueError:
        raise SettingsError(name, f"must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(name, f"must be at least {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(name, f"must be true or false, got {raw!r}")


def discord_settings(env: Mapping[str, str]) -> DiscordSettings:
    """Read ``SHOAL_TOKEN``, ``SHOAL_REST_URL`` and ``SHOAL_INTENTS``."""
    token = _required(env, "SHOAL_TOKEN")
    if token.count(".") != 2:  # noqa: PLR2004 - base64(id).timestamp.hmac
        raise SettingsError(
            "SHOAL_TOKEN", "does not look like a bot token (three dot-separated parts)"
        )
    rest_url = env.get("SHOAL_REST_URL", "").strip() or _DISCORD_API
    if not rest_url.startswith(("http://", "https://")):
        raise SettingsError("SHOAL_REST_URL", f"must be an http(s) URL, got {rest_url!r}")
    window_raw = env.get("SHOAL_IDENTIFY_WINDOW_S", "").strip() or "5"
    try:
        window_s = float(window_raw)
    except ValueError:
        raise SettingsError(
            "SHOAL_IDENTIFY_WINDOW_S", f"must be a number, got {window_raw!r}"
        ) from None
    if not 0 < window_s <= 60:  # noqa: PLR2004 - anything longer is a typo
        raise SettingsError("SHOAL_IDENTIFY_WINDOW_S", f"must be in (0, 60], got {window_s}")
    return DiscordSettings(
        token=token,
        rest_url=rest_url.rstrip("/"),
        intents=_int(env, "SHOAL_INTENTS", DEFAULT_INTENTS),
        identify_window_s=window_s,
        cdn_url=(env.get("SHOAL_CDN_URL", "").strip() or "https://cdn.discordapp.com").rstrip("/"),
    )


def sharding_settings(env: Mapping[str, str]) -> ShardingSettings:
    """Read the shard layout; the ordinal comes from the pod name when not given."""
    total = _int(env, "SHOAL_TOTAL_SHARDS", minimum=1)
    per_pod = _int(env, "SHOAL_SHARDS_PER_POD", minimum=1)
    pod_name = env.get("SHOAL_POD_NAME", "").strip() or env.get("HOSTNAME", "").strip()
    if env.get("SHOAL_POD_ORDINAL", "").strip():
        ordinal = _int(env, "SHOAL_POD_ORDINAL")
    else:
        match = _ORDINAL_SUFFIX.search(pod_name)
        if match is None:
            raise SettingsError(
                "SHOAL_POD_ORDINAL",
                f"is not set and the pod name {pod_name!r} (SHOAL_POD_NAME or HOSTNAME) does "
                "not end in -<ordinal>",
            )
        ordinal = int(match.group(1))
    settings = ShardingSettings(
        total_shards=total,
        shards_per_pod=per_pod,
        ordinal=ordinal,
        generation=_int(env, "SHOAL_GENERATION", 0),
        pod_name=pod_name or f"local-{ordinal}",
    )
    try:
        _ = settings.shards
    except ValueError as exc:
        raise SettingsError("SHOAL_POD_ORDINAL", str(exc)) from None
    return settings


def redis_settings(env: Mapping[str, str]) -> RedisSettings:
    """Read ``SHOAL_REDIS_URL`` and ``SHOAL_BOT_NAME`` (the key namespace)."""
    url = _required(env, "SHOAL_REDIS_URL")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("SHOAL_REDIS_URL", "must start with redis://, rediss:// or unix://")
    name = env.get("SHOAL_BOT_NAME", "").strip() or "shoal"
    if not _NAME.match(name):
        raise SettingsError("SHOAL_BOT_NAME", "must be a DNS label (lowercase letters, digits, -)")
    return RedisSettings(url=url, namespace=name)


def postgres_settings(env: Mapping[str, str]) -> PostgresSettings:
    """Read ``SHOAL_POSTGRES_DSN`` and ``SHOAL_POSTGRES_POOL_MAX``."""
    dsn = _required(env, "SHOAL_POSTGRES_DSN")
    if not dsn.startswith(("postgres://", "postgresql://")):
        raise SettingsError("SHOAL_POSTGRES_DSN", "must start with postgresql://")
    return PostgresSettings(
        dsn=dsn, pool_max_size=_int(env, "SHOAL_POSTGRES_POOL_MAX", 10, minimum=1)
    )


def http_settings(env: Mapping[str, str]) -> HttpSettings:
    """Read ``SHOAL_HTTP_HOST`` and ``SHOAL_HTTP_PORT`` (health and metrics)."""
    port = _int(env, "SHOAL_HTTP_PORT", 8080)
    if port > 65_535:  # noqa: PLR2004 - the largest TCP port
        raise SettingsError("SHOAL_HTTP_PORT", f"must be at most 65535, got {port}")
    return HttpSettings(
        host=env.get("SHOAL_HTTP_HOST", "").strip() or "0.0.0.0",  # noqa: S104 - a pod serves its probes on every interface
        port=port,
    )


def log_settings(env: Mapping[str, str], *, default_level: str = "INFO") -> LogSettings:
    """Read ``SHOAL_LOG_LEVEL`` (``default_level`` when unset) and ``SHOAL_LOG_JSON``."""
    level = (env.get("SHOAL_LOG_LEVEL", "").strip() or default_level).upper()
    if level not in _LOG_LEVELS:
        raise SettingsError("SHOAL_LOG_LEVEL", f"must be one of {sorted(_LOG_LEVELS)}")
    return LogSettings(level=level, is_json=_bool(env, "SHOAL_LOG_JSON", default=True))


def worker_settings(env: Mapping[str, str]) -> WorkerSettings:
    """Build a shard worker's settings; raises :class:`SettingsError` naming the variable."""
    return WorkerSettings(
        discord=discord_settings(env),
        sharding=sharding_settings(env),
        redis=redis_settings(env),
        postgres=postgres_settings(env),
        http=http_settings(env),
        log=log_settings(env),
    )
