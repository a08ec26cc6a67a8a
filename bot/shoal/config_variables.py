"""Every ``SHOAL_*`` variable :mod:`shoal.config` reads: meaning, default, and who reads it.

The one table ``shoal <command> --help`` lists the variables from. Owns the words and the
defaults as shown to a person, grouped by the settings function that reads them (``redis``
is :func:`shoal.config.redis_settings`), and which groups each command reads. Does not
parse anything (:mod:`shoal.config` does); a unit test fails when this table and what
:mod:`shoal.config` reads drift apart, or a default shown here is not the one it uses.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from shoal.config import DEFAULT_INTENTS

__all__ = [
    "COMMAND_ENVIRONMENTS",
    "VARIABLES",
    "CommandEnvironment",
    "ConfigVariable",
    "variables_help",
    "variables_of",
]

#: Columns of a ``--help`` line; past it a variable's default goes on a line of its own.
_HELP_WIDTH: Final = 100


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConfigVariable:
    """One ``SHOAL_*`` variable."""

    name: str
    """The variable, e.g. ``SHOAL_REDIS_URL``."""
    group: str
    """The settings group reading it: ``discord``, ``sharding``, ``redis``, ``postgres``,
    ``http`` or ``log`` (``redis`` is read by :func:`shoal.config.redis_settings`)."""
    meaning: str
    """One line: what it sets."""
    default: str | None
    """The value used when it is unset, written as one would set it; None when there is
    none (required, or taken from elsewhere: see :attr:`when_unset`)."""
    when_unset: str = "required"
    """What happens when it is unset and there is no :attr:`default`."""

    @property
    def is_required(self) -> bool:
        """Whether it must be set: no default, and nothing it is taken from instead."""
        return self.default is None and self.when_unset == "required"

    @property
    def shown_default(self) -> str:
        """The default as ``--help`` shows it."""
        return self.when_unset if self.default is None else f"default: {self.default}"


VARIABLES: Final = (
    ConfigVariable(
        name="SHOAL_TOKEN", group="discord", meaning="the bot token (never logged)", default=None
    ),
    ConfigVariable(
        name="SHOAL_REST_URL",
        group="discord",
        meaning="REST base URL ending in /api/v10: Discord, the simulator or a proxy",
        default="https://discord.com/api/v10",
    ),
    ConfigVariable(
        name="SHOAL_INTENTS",
        group="discord",
        meaning="gateway intents bit mask (guilds, moderation, voice states, messages)",
        default=str(DEFAULT_INTENTS),
    ),
    ConfigVariable(
        name="SHOAL_IDENTIFY_WINDOW_S",
        group="discord",
        meaning="identify bucket window in seconds, at most 60 (shorter: the simulator)",
        default="5",
    ),
    ConfigVariable(
        name="SHOAL_CDN_URL",
        group="discord",
        meaning="where avatars are fetched (rank cards): Discord's CDN or the simulator",
        default="https://cdn.discordapp.com",
    ),
    ConfigVariable(
        name="SHOAL_TOTAL_SHARDS",
        group="sharding",
        meaning="the bot's shard count (of this generation)",
        default=None,
    ),
    ConfigVariable(
        name="SHOAL_SHARDS_PER_POD",
        group="sharding",
        meaning="shards each pod runs, a contiguous range",
        default=None,
    ),
    ConfigVariable(
        name="SHOAL_POD_NAME",
        group="sharding",
        meaning="this pod's name, in the shard registry and logs",
        default=None,
        when_unset="default: $HOSTNAME, else local-<ordinal>",
    ),
    ConfigVariable(
        name="SHOAL_POD_ORDINAL",
        group="sharding",
        meaning="this pod's ordinal: which range of shards it runs",
        default=None,
        when_unset="default: the pod name's -<n> suffix",
    ),
    ConfigVariable(
        name="SHOAL_GENERATION",
        group="sharding",
        meaning="the shard set; a reshard runs generation + 1 beside it",
        default="0",
    ),
    ConfigVariable(
        name="SHOAL_REDIS_URL",
        group="redis",
        meaning="the shared Redis: redis://, rediss:// or unix://",
        default=None,
    ),
    ConfigVariable(
        name="SHOAL_BOT_NAME",
        group="redis",
        meaning="the bot's name, prefix of every Redis key (a DNS label)",
        default="shoal",
    ),
    ConfigVariable(
        name="SHOAL_POSTGRES_DSN",
        group="postgres",
        meaning="the shared PostgreSQL: postgresql://user:password@host/db (never logged)",
        default=None,
    ),
    ConfigVariable(
        name="SHOAL_POSTGRES_POOL_MAX",
        group="postgres",
        meaning="most PostgreSQL connections this process opens",
        default="10",
    ),
    ConfigVariable(
        name="SHOAL_HTTP_HOST",
        group="http",
        meaning="address of the /livez, /readyz and /metrics server",
        default="0.0.0.0",  # noqa: S104 - shown, not bound
    ),
    ConfigVariable(
        name="SHOAL_HTTP_PORT",
        group="http",
        meaning="port of the /livez, /readyz and /metrics server",
        default="8080",
    ),
    ConfigVariable(
        name="SHOAL_LOG_LEVEL",
        group="log",
        meaning="DEBUG, INFO, WARNING or ERROR",
        default="INFO",
    ),
    ConfigVariable(
        name="SHOAL_LOG_JSON",
        group="log",
        meaning="JSON log lines, true or false (the worker; other commands log plain text)",
        default="true",
    ),
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CommandEnvironment:
    """What one command reads from the environment."""

    groups: tuple[str, ...]
    """The settings groups it builds, in the order ``--help`` lists them."""
    log_level: str = "INFO"
    """Its level when ``SHOAL_LOG_LEVEL`` is unset."""


COMMAND_ENVIRONMENTS: Final = {
    "worker": CommandEnvironment(
        groups=("discord", "sharding", "redis", "postgres", "http", "log")
    ),
    "migrate": CommandEnvironment(groups=("postgres", "log")),
    "sync-commands": CommandEnvironment(groups=("discord", "log")),
    # A table on the terminal: the clients' INFO lines ("Redis client connected") would
    # land in the middle of it.
    "status": CommandEnvironment(groups=("redis", "log"), log_level="WARNING"),
}


def variables_of(groups: tuple[str, ...]) -> tuple[ConfigVariable, ...]:
    """Return the variables of ``groups``, group by group, in the table's order."""
    return tuple(v for group in groups for v in VARIABLES if v.group == group)


def variables_help(command: str) -> str:
    """Return the ``--help`` lines listing what ``command`` reads, one variable a line.

    A default that does not fit on its variable's line goes on the next, indented.
    """
    environment = COMMAND_ENVIRONMENTS[command]
    variables = variables_of(environment.groups)
    width = max(len(v.name) for v in variables) + 2
    lines: list[str] = []
    for v in variables:
        default = v.shown_default
        if v.name == "SHOAL_LOG_LEVEL":  # the one default a command changes
            default = f"default: {environment.log_level}"
        line = f"  {v.name:<{width}}{v.meaning} ({default})"
        if len(line) > _HELP_WIDTH:
            line = f"  {v.name:<{width}}{v.meaning}\n  {'':<{width}}({default})"
        lines.append(f"{line}\n")
    return "".join(lines)
