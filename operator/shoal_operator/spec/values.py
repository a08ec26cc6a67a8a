"""The DiscordBot spec's value objects: frozen, slotted, already defaulted and checked.

Owns the shape of a parsed spec (:class:`BotSpec` and one class per section). Does not own
parsing, defaults or checks (``shoal_operator.spec.parsing``), nor the intent names
(``shoal_operator.spec.intents``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "BotSpec",
    "DiscordSpec",
    "LavalinkSpec",
    "Resources",
    "SecretKeyRef",
    "ShardsSpec",
    "WorkersSpec",
]


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
