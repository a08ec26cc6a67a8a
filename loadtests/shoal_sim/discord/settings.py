"""Simulator settings: one frozen dataclass, every unit in its field name."""

from __future__ import annotations

import dataclasses

__all__ = ["DEFAULT_TOKEN", "SimSettings"]

_MAX_PORT = 65_535

#: A token shaped like a real one (``base64(bot_id).x.y``): hikari rejects other shapes.
#: The first part decodes to the default application's bot user id.
DEFAULT_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.c2hvYWwtc2ltdWxhdG9yLWRlZmF1bHQtdG9rZW4"  # noqa: S105 - public, simulator-only


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SimSettings:
    """How the simulated Discord is shaped and which limits it enforces."""

    host: str = "127.0.0.1"
    """Address to listen on (loopback by default)."""
    port: int = 0
    """TCP port; 0 picks a free one."""
    tokens: tuple[str, ...] = (DEFAULT_TOKEN,)
    """Bot tokens, one application each. The first owns the generated guilds."""
    guilds: int = 100
    """Number of guilds generated for the first application at start."""
    seed: int = 1
    """Seed for reproducible ids and names."""
    members_per_guild: int = 50
    """Members per guild (besides the bot)."""
    channels_per_guild: int = 10
    """Channels per guild (text, voice and one category)."""
    roles_per_guild: int = 8
    """Roles per guild besides @everyone (and the bot's own managed role)."""
    avatar_fraction: float = 0.8
    """Share of generated users with an avatar (0 to 1); the others have none."""
    max_concurrency: int = 1
    """``session_start_limit.max_concurrency``: identify buckets per window."""
    identify_window_s: float = 5.0
    """Each bucket may IDENTIFY once per this many seconds (Discord: 5)."""
    max_guilds_per_shard: int = 2500
    """A shard holding more guilds than this is closed with 4011."""
    shard_count_multiple: int = 1
    """Large bots must use a multiple of this shard count (else 4010); 1 disables it."""
    session_start_total: int = 1000
    """Session starts per reset period (``session_start_limit.total``)."""
    session_start_reset_s: float = 86_400.0
    """Length of the session start period."""
    heartbeat_interval_ms: int = 41_250
    """``heartbeat_interval`` sent in HELLO."""
    heartbeat_grace: float = 1.5
    """A connection silent for ``interval * grace`` is closed as a zombie (4009)."""
    resume_timeout_s: float = 120.0
    """How long a non-1000/1001 closed session stays resumable."""
    replay_buffer: int = 2_500
    """Dispatches kept per session for RESUME; an older ``seq`` gets op 9."""
    privileged_intents: int = 0
    """Privileged intents the application is approved for (bit mask)."""
    send_limit: int = 120
    """Gateway commands a connection may send per ``send_window_s`` (else 4008)."""
    send_window_s: float = 60.0
    """Window of the gateway send limit."""
    interaction_deadline_s: float = 3.0
    """Time from dispatch within which an interaction must get its initial response."""
    interaction_token_ttl_s: float = 900.0
    """Lifetime of an interaction token for follow-ups and edits."""
    global_rate_per_s: int = 50
    """Global REST limit per bot token (interaction endpoints exempt)."""
    url_file: str | None = None
    """Write the REST base URL to this file once listening."""

    def __post_init__(self) -> None:
        """Reject settings that cannot describe a Discord.

        Raises:
            ValueError: naming the offending setting.
        """
        positive = {
            "max_concurrency": self.max_concurrency,
            "max_guilds_per_shard": self.max_guilds_per_shard,
            "shard_count_multiple": self.shard_count_multiple,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "send_limit": self.send_limit,
            "global_rate_per_s": self.global_rate_per_s,
            "replay_buffer": self.replay_buffer,
        }
        for name, value in positive.items():
            if value < 1:
                msg = f"{name} must be at least 1, got {value}"
                raise ValueError(msg)
        non_negative = {
            "guilds": self.guilds,
            "members_per_guild": self.members_per_guild,
            "channels_per_guild": self.channels_per_guild,
            "roles_per_guild": self.roles_per_guild,
            "session_start_total": self.session_start_total,
            "port": self.port,
        }
        for name, value in non_negative.items():
            if value < 0:
                msg = f"{name} must not be negative, got {value}"
                raise ValueError(msg)
        positive_s = {
            "identify_window_s": self.identify_window_s,
            "send_window_s": self.send_window_s,
            "heartbeat_grace": self.heartbeat_grace,
            "resume_timeout_s": self.resume_timeout_s,
            "session_start_reset_s": self.session_start_reset_s,
            "interaction_deadline_s": self.interaction_deadline_s,
            "interaction_token_ttl_s": self.interaction_token_ttl_s,
        }
        for name, seconds in positive_s.items():
            if not seconds > 0 or seconds == float("inf"):
                msg = f"{name} must be a positive, finite number, got {seconds}"
                raise ValueError(msg)
        if not 0.0 <= self.avatar_fraction <= 1.0:
            msg = f"avatar_fraction must be between 0 and 1, got {self.avatar_fraction}"
            raise ValueError(msg)
        if self.port > _MAX_PORT:
            msg = f"port must be at most {_MAX_PORT}, got {self.port}"
            raise ValueError(msg)
        if not self.tokens:
            msg = "tokens must name at least one bot token"
            raise ValueError(msg)
