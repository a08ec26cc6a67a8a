"""The DiscordBot ``spec``: parsed, defaulted and checked into frozen value objects.

Owns the spec's shape as the operator sees it: every default, bound and cross-field rule of
``charts/shoal/crds/discordbots.shoal.dev.yaml`` written once more in Python, because a real
API server defaults and validates a DiscordBot but the test API server (kmock) does neither.
Like a structural schema, unknown fields are errors and ``null`` means "not set". A bad spec
raises :class:`SpecError` naming the field's path. Does not own reconciling, status, or what
the spec means for shard counts (that is ``shoal.planning``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal, cast

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "INTENT_BITS",
    "BotSpec",
    "DiscordSpec",
    "LavalinkSpec",
    "Resources",
    "SecretKeyRef",
    "ShardsSpec",
    "SpecError",
    "WorkersSpec",
    "intents_bitmask",
    "parse_spec",
]

#: Gateway intent bits by the names the CRD accepts (Discord's documentation names).
INTENT_BITS: Final[Mapping[str, int]] = types.MappingProxyType(
    {
        "Guilds": 1 << 0,
        "GuildMembers": 1 << 1,
        "GuildModeration": 1 << 2,
        "GuildExpressions": 1 << 3,
        "GuildIntegrations": 1 << 4,
        "GuildWebhooks": 1 << 5,
        "GuildInvites": 1 << 6,
        "GuildVoiceStates": 1 << 7,
        "GuildPresences": 1 << 8,
        "GuildMessages": 1 << 9,
        "GuildMessageReactions": 1 << 10,
        "GuildMessageTyping": 1 << 11,
        "DirectMessages": 1 << 12,
        "DirectMessageReactions": 1 << 13,
        "DirectMessageTyping": 1 << 14,
        "MessageContent": 1 << 15,
        "GuildScheduledEvents": 1 << 16,
        "AutoModerationConfiguration": 1 << 20,
        "AutoModerationExecution": 1 << 21,
        "GuildMessagePolls": 1 << 24,
        "DirectMessagePolls": 1 << 25,
    }
)
_DEFAULT_INTENTS: Final = (
    "Guilds",
    "GuildMessages",
    "GuildVoiceStates",
    "GuildMembers",
    "MessageContent",
)
_PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")
_MAX_INTENTS: Final = 32
_MAX_RESOURCES: Final = 16
_MAX_MAP_ENTRIES: Final = 64
_SECONDS_PER_HOUR: Final = 3600
_SECONDS_PER_MINUTE: Final = 60
_PERCENT: Final = 100
# The same patterns as the CRD (DNS-1123 subdomain, Secret key, Kubernetes quantity).
_SECRET_NAME: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SECRET_KEY: Final = re.compile(r"[-._a-zA-Z0-9]+")
_URL: Final = re.compile(r"https?://\S+")
_JAVA_HEAP: Final = re.compile(r"[0-9]+[mMgG]")
_QUANTITY: Final = re.compile(
    r"[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?"
)


class SpecError(ValueError):
    """A DiscordBot spec is invalid; the message names the field, e.g. ``spec.shards.count``."""

    def __init__(self, path: str, message: str) -> None:
        """Record which field is wrong and why."""
        super().__init__(f"{path}: {message}")
        self.path = path
        self.problem = message


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SecretKeyRef:
    """One key of a Secret in the bot's namespace."""

    name: str
    """The Secret's name."""
    key: str
    """The key within the Secret."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DiscordSpec:
    """How the workers reach Discord (or a simulator)."""

    api_base_url: str
    """REST base URL ending in ``/api/v10``."""
    identify_window_s: float
    """Each identify bucket's window; Discord's is 5 s, a simulator's may be shorter."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShardsSpec:
    """How many shards to run and how to pack them into pods."""

    mode: Literal["Auto", "Fixed"]
    """``Auto`` plans from the guild total; ``Fixed`` runs exactly ``count`` shards."""
    count: int | None
    """The shard count in ``Fixed`` mode (always set then); may be set but unused in ``Auto``."""
    target_guilds_per_shard: int
    """``Auto`` aims for this many guilds per shard."""
    max_guilds_per_shard: int
    """Plans never expect more guilds per shard than this."""
    shards_per_pod: int
    """Shards each worker pod runs."""
    headroom: float
    """Growth planned for beyond the guild total, as a fraction (0.1 = 10 %)."""
    growth_horizon_s: float
    """How far ahead ``Auto`` projects guild growth."""
    shrink_cooldown_s: int
    """How long a lower shard count must stay planned before ``Auto`` reshards down."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """Compute resources of one container, as Kubernetes quantities."""

    requests: Mapping[str, str]
    """Minimum resources by name (``cpu``, ``memory``...), e.g. ``{"cpu": "500m"}``."""
    limits: Mapping[str, str]
    """Maximum resources by name."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkersSpec:
    """The shard worker pods."""

    resources: Resources
    """Resources of each worker container."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    """The workers' log level."""
    pod_annotations: Mapping[str, str]
    """Extra annotations on each worker pod."""
    node_selector: Mapping[str, str]
    """Node labels a worker pod's node must have."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LavalinkSpec:
    """Lavalink nodes for voice."""

    is_enabled: bool
    """Whether the operator runs Lavalink nodes at all."""
    nodes: int | None
    """A fixed node count; ``None`` scales between ``min_nodes`` and ``max_nodes``."""
    target_players_per_node: int
    """Autoscaling aims for this many players per node."""
    min_nodes: int
    """Fewest nodes autoscaling runs."""
    max_nodes: int
    """Most nodes autoscaling runs (never below ``min_nodes``)."""
    image: str
    """The Lavalink image."""
    resources: Resources
    """Resources of each Lavalink container."""
    java_heap: str
    """Maximum Java heap (``-Xmx``), e.g. ``512m``."""
    password_secret: SecretKeyRef | None
    """The Lavalink password; always set when ``is_enabled``."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BotSpec:
    """A DiscordBot's whole spec, defaulted and checked."""

    image: str
    """The Shoal worker image."""
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"]
    """Pull policy of the worker image."""
    token_secret: SecretKeyRef
    """The bot token."""
    intents: int
    """Gateway intents bit mask."""
    discord: DiscordSpec
    """How to reach Discord."""
    shards: ShardsSpec
    """Shard count and packing."""
    workers: WorkersSpec
    """The worker pods."""
    redis_secret: SecretKeyRef
    """The Redis URL."""
    postgres_secret: SecretKeyRef
    """The PostgreSQL DSN."""
    lavalink: LavalinkSpec
    """Lavalink nodes."""


def intents_bitmask(names: Iterable[str]) -> int:
    """Return the gateway intents bit mask for intent ``names`` (the CRD's enum values).

    Raises:
        ValueError: for a name that is not an intent.
    """
    mask = 0
    for name in names:
        if name not in INTENT_BITS:
            raise ValueError(f"unknown intent {name!r}")
        mask |= INTENT_BITS[name]
    return mask


def _json_type(value: object) -> str:
    """Name ``value``'s JSON type, for messages that say what was given instead."""
    names: tuple[tuple[type, str], ...] = (
        (bool, "boolean"),  # before int: bool is an int subclass
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (Mapping, "object"),
    )
    return next((name for kind, name in names if isinstance(value, kind)), type(value).__name__)


def _wrong_type(path: str, expected: str, value: object) -> SpecError:
    return SpecError(path, f"must be {expected}, got {_json_type(value)}")


class _Section:
    """One object of the spec: typed reads of its fields, each error naming the field."""

    __slots__ = ("_path", "_raw")

    def __init__(self, raw: object, path: str, fields: Iterable[str]) -> None:
        """Check ``raw`` is an object with only ``fields``; ``None`` reads as empty.

        Raises:
            SpecError: when ``raw`` is not an object or has an unknown field.
        """
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise _wrong_type(path, "an object", raw)
        known = frozenset(fields)
        for name in raw:
            if name not in known:
                raise SpecError(f"{path}.{name}", "unknown field")
        self._raw = cast("Mapping[str, object]", raw)
        self._path = path

    def path(self, name: str) -> str:
        """Return the path of field ``name``."""
        return f"{self._path}.{name}"

    def has(self, name: str) -> bool:
        """Whether field ``name`` is set (``null`` counts as not set)."""
        return self._raw.get(name) is not None

    def get(self, name: str, default: object = None) -> object:
        """Return field ``name``, or ``default`` when unset.

        Raises:
            SpecError: when the field is unset and has no default.
        """
        value = self._raw.get(name)
        if value is None:
            if default is None:
                raise SpecError(self.path(name), "is required")
            return default
        return value

    def section(self, name: str, fields: Iterable[str], *, is_required: bool = False) -> _Section:
        """Return the object field ``name`` (empty when unset and not required)."""
        raw = self.get(name) if is_required else self._raw.get(name)
        return _Section(raw, self.path(name), fields)

    def string(
        self,
        name: str,
        default: str | None = None,
        *,
        max_length: int = 253,
        pattern: re.Pattern[str] | None = None,
        choices: tuple[str, ...] = (),
    ) -> str:
        """Return the string field ``name``, checked like the CRD checks it."""
        value = self.get(name, default)
        path = self.path(name)
        if not isinstance(value, str):
            raise _wrong_type(path, "a string", value)
        if choices:
            _enum_item(path, value, choices)
        if not value:
            raise SpecError(path, "must not be empty")
        if len(value) > max_length:
            raise SpecError(path, f"must be at most {max_length} characters, got {len(value)}")
        if pattern is not None and pattern.fullmatch(value) is None:
            raise SpecError(path, f"must match {pattern.pattern}, got {value!r}")
        return value

    def integer(self, name: str, default: int | None, *, minimum: int, maximum: int) -> int:
        """Return the integer field ``name`` within ``minimum..maximum``."""
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(self.path(name), "an integer", value)
        _check_bounds(self.path(name), value, minimum, maximum)
        return value

    def optional_integer(self, name: str, *, minimum: int, maximum: int) -> int | None:
        """Return the integer field ``name``, or ``None`` when unset."""
        if not self.has(name):
            return None
        return self.integer(name, None, minimum=minimum, maximum=maximum)

    def number(self, name: str, default: float, *, minimum: float, maximum: float) -> float:
        """Return the number field ``name`` (an integer is a number) within the bounds."""
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(self.path(name), "a number", value)
        if not math.isfinite(value):
            raise SpecError(self.path(name), f"must be a finite number, got {value}")
        _check_bounds(self.path(name), value, minimum, maximum)
        return float(value)

    def boolean(self, name: str, *, default: bool) -> bool:
        """Return the boolean field ``name``."""
        value = self._raw.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _wrong_type(self.path(name), "a boolean", value)
        return value

    def string_list(
        self, name: str, default: Iterable[str], *, choices: Iterable[str]
    ) -> list[str]:
        """Return the set-like list field ``name``: each item one of ``choices``, no repeats."""
        value = self.get(name, list(default))
        path = self.path(name)
        if not isinstance(value, list):
            raise _wrong_type(path, "an array", value)
        if len(value) > _MAX_INTENTS:
            raise SpecError(path, f"must have at most {_MAX_INTENTS} items, got {len(value)}")
        items = [_enum_item(f"{path}[{index}]", item, choices) for index, item in enumerate(value)]
        repeated = sorted({item for item in items if items.count(item) > 1})
        if repeated:
            raise SpecError(path, f"must not repeat values, got {', '.join(repeated)} twice")
        return items

    def string_map(
        self, name: str, *, max_entries: int, max_value_length: int
    ) -> Mapping[str, str]:
        """Return the string-to-string map field ``name`` (empty when unset)."""
        value = self._raw.get(name)
        path = self.path(name)
        entries = _map_entries(path, value, max_entries)
        for key, item in entries.items():
            if not isinstance(item, str):
                raise _wrong_type(f"{path}.{key}", "a string", item)
            if len(item) > max_value_length:
                msg = f"must be at most {max_value_length} characters, got {len(item)}"
                raise SpecError(f"{path}.{key}", msg)
        return types.MappingProxyType(cast("dict[str, str]", entries))

    def quantity_map(self, name: str) -> Mapping[str, str]:
        """Return the resource-name-to-quantity map field ``name``, quantities as strings."""
        path = self.path(name)
        quantities: dict[str, str] = {}
        for key, item in _map_entries(path, self._raw.get(name), _MAX_RESOURCES).items():
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise _wrong_type(f"{path}.{key}", "an integer or a string", item)
            quantity = str(item)
            if _QUANTITY.fullmatch(quantity) is None:
                raise SpecError(f"{path}.{key}", f"must be a quantity such as 500m, got {item!r}")
            quantities[key] = quantity
        return types.MappingProxyType(quantities)


def _enum_item(path: str, value: object, choices: Iterable[str]) -> str:
    allowed = tuple(choices)
    if not isinstance(value, str):
        raise _wrong_type(path, "a string", value)
    if value not in allowed:
        raise SpecError(path, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _check_bounds(path: str, value: float, minimum: float, maximum: float) -> None:
    if value < minimum:
        raise SpecError(path, f"must be at least {minimum}, got {value}")
    if value > maximum:
        raise SpecError(path, f"must be at most {maximum}, got {value}")


def _map_entries(path: str, value: object, max_entries: int) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _wrong_type(path, "an object", value)
    for key in value:
        if not isinstance(key, str) or not key:
            raise SpecError(path, f"keys must be non-empty strings, got {key!r}")
    if len(value) > max_entries:
        raise SpecError(path, f"must have at most {max_entries} entries, got {len(value)}")
    return dict(cast("Mapping[str, object]", value))


def _secret_ref(parent: _Section, name: str, default_key: str) -> SecretKeyRef:
    ref = parent.section(name, ("name", "key"), is_required=True)
    return SecretKeyRef(
        name=ref.string("name", pattern=_SECRET_NAME),
        key=ref.string("key", default_key, pattern=_SECRET_KEY),
    )


def _resources(parent: _Section) -> Resources:
    resources = parent.section("resources", ("requests", "limits"))
    return Resources(
        requests=resources.quantity_map("requests"), limits=resources.quantity_map("limits")
    )


def _discord(spec: _Section) -> DiscordSpec:
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


def _shards(spec: _Section) -> ShardsSpec:
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


def _workers(spec: _Section) -> WorkersSpec:
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


def _lavalink(spec: _Section) -> LavalinkSpec:
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
    spec = _Section(raw, "spec", _SPEC_FIELDS)
    image = spec.string("image", max_length=512)
    pull_policy = spec.string("imagePullPolicy", "IfNotPresent", choices=_PULL_POLICIES)
    intents = spec.string_list("intents", _DEFAULT_INTENTS, choices=INTENT_BITS)
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
