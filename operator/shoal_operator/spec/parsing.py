"""Parsing a DiscordBot's ``spec`` section by section: the CRD's fields, defaults and rules.

Owns :func:`parse_spec`: which fields each section has, their defaults, bounds and patterns,
and the cross-field rules (``Fixed`` needs a count, target within the cap, ``minNodes`` within
``maxNodes``, a Lavalink password when enabled). Does not own the typed reads and their
messages (``shoal_operator.spec.reading``) nor the value objects it builds
(``shoal_operator.spec.values``).
"""

from __future__ import annotations

import re
from typing import Final, Literal, cast

from shoal_operator.spec.intents import DEFAULT_INTENTS, INTENT_BITS, intents_bitmask
from shoal_operator.spec.reading import Section, SpecError
from shoal_operator.spec.values import (
    BotSpec,
    DiscordSpec,
    LavalinkSpec,
    Resources,
    SecretKeyRef,
    ShardsSpec,
    WorkersSpec,
)

__all__ = ["parse_spec"]

_PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")
_MAX_MAP_ENTRIES: Final = 64
_SECONDS_PER_HOUR: Final = 3600
_SECONDS_PER_MINUTE: Final = 60
_PERCENT: Final = 100
# The same patterns as the CRD (DNS-1123 subdomain, Secret key).
_SECRET_NAME: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SECRET_KEY: Final = re.compile(r"[-._a-zA-Z0-9]+")
_URL: Final = re.compile(r"https?://\S+")
_JAVA_HEAP: Final = re.compile(r"[0-9]+[mMgG]")


def _secret_ref(parent: Section, name: str, default_key: str) -> SecretKeyRef:
    ref = parent.section(name, ("name", "key"), is_required=True)
    return SecretKeyRef(
        name=ref.string("name", pattern=_SECRET_NAME),
        key=ref.string("key", default_key, pattern=_SECRET_KEY),
    )


def _resources(parent: Section) -> Resources:
    resources = parent.section("resources", ("requests", "limits"))
    return Resources(
        requests=resources.quantity_map("requests"), limits=resources.quantity_map("limits")
    )


def _discord(spec: Section) -> DiscordSpec:
    discord = spec.section("discord", ("apiBaseUrl", "identifyWindowSeconds"))
    return DiscordSpec(
        api_base_url=discord.string(
            "apiBaseUrl", "https://discord.com/api/v10", max_length=2048, pattern=_URL
        ),
        identify_window_s=discord.number("identifyWindowSeconds", 5, minimum=0.1, maximum=60),
    )


_SHARDS_FIELDS: Final = (
    "mode",
    "count",
    "targetGuildsPerShard",
    "maxGuildsPerShard",
    "shardsPerPod",
    "headroomPercent",
    "growthHorizonHours",
    "shrinkCooldownMinutes",
)


def _shards(spec: Section) -> ShardsSpec:
    shards = spec.section("shards", _SHARDS_FIELDS)
    mode = cast(
        "Literal['Auto', 'Fixed']", shards.string("mode", "Auto", choices=("Auto", "Fixed"))
    )
    count = shards.optional_integer("count", minimum=1, maximum=100_000)
    if mode == "Fixed" and count is None:
        raise SpecError(shards.path("count"), "is required when mode is Fixed")
    target = shards.integer("targetGuildsPerShard", 1000, minimum=100, maximum=2500)
    cap = shards.integer("maxGuildsPerShard", 2500, minimum=100, maximum=2500)
    if target > cap:
        msg = f"must not exceed maxGuildsPerShard ({cap}), got {target}"
        raise SpecError(shards.path("targetGuildsPerShard"), msg)
    horizon_h = shards.number("growthHorizonHours", 168, minimum=0, maximum=8760)
    cooldown_min = shards.integer("shrinkCooldownMinutes", 60, minimum=0, maximum=10_080)
    return ShardsSpec(
        mode=mode,
        count=count,
        target_guilds_per_shard=target,
        max_guilds_per_shard=cap,
        shards_per_pod=shards.integer("shardsPerPod", 4, minimum=1, maximum=64),
        headroom=shards.integer("headroomPercent", 10, minimum=0, maximum=500) / _PERCENT,
        growth_horizon_s=horizon_h * _SECONDS_PER_HOUR,
        shrink_cooldown_s=cooldown_min * _SECONDS_PER_MINUTE,
    )


def _workers(spec: Section) -> WorkersSpec:
    workers = spec.section("workers", ("resources", "logLevel", "podAnnotations", "nodeSelector"))
    level = workers.string("logLevel", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return WorkersSpec(
        resources=_resources(workers),
        log_level=cast("Literal['DEBUG', 'INFO', 'WARNING', 'ERROR']", level),
        pod_annotations=workers.string_map(
            "podAnnotations", max_entries=_MAX_MAP_ENTRIES, max_value_length=65_536
        ),
        node_selector=workers.string_map(
            "nodeSelector", max_entries=_MAX_MAP_ENTRIES, max_value_length=63
        ),
    )


_LAVALINK_FIELDS: Final = (
    "enabled",
    "nodes",
    "targetPlayersPerNode",
    "minNodes",
    "maxNodes",
    "image",
    "resources",
    "javaHeap",
    "passwordSecretRef",
)


def _lavalink(spec: Section) -> LavalinkSpec:
    lavalink = spec.section("lavalink", _LAVALINK_FIELDS)
    is_enabled = lavalink.boolean("enabled", default=True)
    min_nodes = lavalink.integer("minNodes", 1, minimum=0, maximum=32)
    max_nodes = lavalink.integer("maxNodes", 4, minimum=1, maximum=32)
    if min_nodes > max_nodes:
        msg = f"must not exceed maxNodes ({max_nodes}), got {min_nodes}"
        raise SpecError(lavalink.path("minNodes"), msg)
    has_password = lavalink.has("passwordSecretRef")
    if is_enabled and not has_password:
        raise SpecError(lavalink.path("passwordSecretRef"), "is required when lavalink is enabled")
    password = _secret_ref(lavalink, "passwordSecretRef", "password") if has_password else None
    return LavalinkSpec(
        is_enabled=is_enabled,
        nodes=lavalink.optional_integer("nodes", minimum=0, maximum=32),
        target_players_per_node=lavalink.integer(
            "targetPlayersPerNode", 200, minimum=1, maximum=10_000
        ),
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        image=lavalink.string(
            "image", "ghcr.io/lavalink-devs/lavalink:4.2.2-alpine", max_length=512
        ),
        resources=_resources(lavalink),
        java_heap=lavalink.string("javaHeap", "512m", max_length=16, pattern=_JAVA_HEAP),
        password_secret=password,
    )


_SPEC_FIELDS: Final = (
    "image",
    "imagePullPolicy",
    "tokenSecretRef",
    "intents",
    "discord",
    "shards",
    "workers",
    "redis",
    "postgres",
    "lavalink",
)


def parse_spec(raw: object) -> BotSpec:
    """Parse a DiscordBot's ``spec``, applying the CRD's defaults and checking its rules.

    Raises:
        SpecError: naming the first bad field, e.g. ``spec.shards.count: must be at least 1,
            got 0``.
    """
    if raw is None:
        raise SpecError("spec", "is required")
    spec = Section(raw, "spec", _SPEC_FIELDS)
    image = spec.string("image", max_length=512)
    pull_policy = spec.string("imagePullPolicy", "IfNotPresent", choices=_PULL_POLICIES)
    intents = spec.string_list("intents", DEFAULT_INTENTS, choices=INTENT_BITS)
    redis = spec.section("redis", ("urlSecretRef",), is_required=True)
    postgres = spec.section("postgres", ("dsnSecretRef",), is_required=True)
    return BotSpec(
        image=image,
        image_pull_policy=cast("Literal['Always', 'IfNotPresent', 'Never']", pull_policy),
        token_secret=_secret_ref(spec, "tokenSecretRef", "token"),
        intents=intents_bitmask(intents),
        discord=_discord(spec),
        shards=_shards(spec),
        workers=_workers(spec),
        redis_secret=_secret_ref(redis, "urlSecretRef", "url"),
        postgres_secret=_secret_ref(postgres, "dsnSecretRef", "dsn"),
        lavalink=_lavalink(spec),
    )
