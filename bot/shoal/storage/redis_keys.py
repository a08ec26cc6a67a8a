"""Every Redis key Shoal uses, built in one place (units in names, one namespace per bot).

Keys are ``shoal:{namespace}:...``; the braces make every key of one bot hash to one
Redis Cluster slot, so multi-key scripts work there too.
"""

from __future__ import annotations

import dataclasses

__all__ = ["RedisKeys"]


@dataclasses.dataclass(frozen=True, slots=True)
class RedisKeys:
    """Key builders for one bot (``namespace``)."""

    namespace: str

    @property
    def _root(self) -> str:
        return f"shoal:{{{self.namespace}}}"

    def identify_bucket(self, bucket: int) -> str:
        """Lock held by the shard identifying in ``bucket`` (expires after one window)."""
        return f"{self._root}:identify:bucket:{bucket}"

    def identify_turn(self, bucket: int) -> str:
        """Queue of shards waiting for ``bucket`` (a sorted set scored by shard id)."""
        return f"{self._root}:identify:queue:{bucket}"

    def session(self, shard_id: int, shard_count: int) -> str:
        """Hash of a shard's resumable session: id, seq, resume URL."""
        return f"{self._root}:session:{shard_count}:{shard_id}"

    def registry_shard(self, generation: int, shard_id: int) -> str:
        """Hash describing one running shard (expires when its worker disappears)."""
        return f"{self._root}:registry:{generation}:{shard_id}"

    def registry_index(self) -> str:
        """Set of registry keys, so readers need no SCAN."""
        return f"{self._root}:registry:index"

    def guild_history(self) -> str:
        """Sorted set of (timestamp, guild total) samples for growth trends."""
        return f"{self._root}:registry:guild-history"

    def active_generation(self) -> str:
        """The generation whose workers process non-interaction events."""
        return f"{self._root}:generation:active"

    def fatal_close(self, pod_name: str) -> str:
        """Why a pod stopped on a fatal close code (read by the operator)."""
        return f"{self._root}:fatal:{pod_name}"

    def interaction_claim(self, interaction_id: int) -> str:
        """Claim on an interaction, so exactly one generation answers it."""
        return f"{self._root}:claim:interaction:{interaction_id}"

    def event_claim(self, kind: str, event_id: int) -> str:
        """Claim on an event with side effects (XP, logs), processed once."""
        return f"{self._root}:claim:event:{kind}:{event_id}"

    def rate_limit(self, scope: str, subject: int, command: str) -> str:
        """Command rate-limit window for a user, guild or command."""
        return f"{self._root}:ratelimit:{scope}:{subject}:{command}"

    def rest_global_window(self) -> str:
        """The bot's shared REST global-limit window."""
        return f"{self._root}:rest:global"

    def guild_settings_channel(self) -> str:
        """Pub/sub channel announcing changed guild settings."""
        return f"{self._root}:guild-settings:changed"

    def identify_waiters(self, bucket: int) -> str:
        """Heartbeats of the shards queued for ``bucket`` (a sorted set scored by deadline, ms).

        A waiter whose deadline passed died while queued; the next poll drops it so it
        cannot block the shards behind it.
        """
        return f"{self._root}:identify:alive:{bucket}"

    def lavalink_nodes(self) -> str:
        """JSON list of the Lavalink nodes' ``host:port`` (written by the operator)."""
        return f"{self._root}:lavalink:nodes"

    def feature(self, feature: str, *parts: str | int) -> str:
        """A key a feature owns: ``shoal:{ns}:f:<feature>:<part>:...`` (one slot per bot).

        Features build every key through this, so a namespace holds each feature's keys
        under one prefix (``SCAN shoal:{ns}:f:levels:*`` finds all of levels').
        """
        tail = ":".join(str(part) for part in parts)
        return f"{self._root}:f:{feature}:{tail}" if tail else f"{self._root}:f:{feature}"
