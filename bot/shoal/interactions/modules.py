"""Feature modules: what a feature contributes, and loading them into an arc client.

A feature (``shoal.features.<name>``) provides a factory returning a :class:`Module`: its
arc plugins (commands), event listeners, migrations and per-command rate limits. An arc
plugin and its commands belong to one client, so call the factory once per client (a
worker builds one; tests and ``sync-commands`` build their own).

Listeners are never subscribed as given: :func:`load_modules` wraps each one through a
:class:`~shoal.interactions.gating.ListenerGate` (interactions claimed once, other events
only on the active generation), or leaves them out when the client never starts.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
from typing import TYPE_CHECKING, Any

import arc
import hikari

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence

    from shoal.interactions.gating import ListenerGate
    from shoal.interactions.limits import RateLimitRule
    from shoal.storage.migration_plans import Migration

__all__ = [
    "Listener",
    "Module",
    "command_name",
    "load_modules",
    "rate_limits_of",
    "top_level_commands",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Listener:
    """An event listener a module subscribes on the bot."""

    event_type: type[Any]
    """A hikari event class. Typed like hikari's own ``subscribe``, because mypy refuses
    abstract classes (``hikari.MessageCreateEvent``) where ``type[Event]`` is expected."""
    callback: Callable[[Any], Coroutine[Any, Any, None]]
    """Called with each event of ``event_type`` (hikari's callback shape)."""

    def __post_init__(self) -> None:
        """Reject an event type that is not a hikari event."""
        if not (isinstance(self.event_type, type) and issubclass(self.event_type, hikari.Event)):
            msg = f"event_type must be a hikari event class, got {self.event_type!r}"
            raise TypeError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class Module:
    """Everything one feature adds to the worker."""

    name: str
    """Unique among the loaded modules."""
    plugins: Sequence[arc.GatewayPlugin] = ()
    """arc plugins holding the feature's commands."""
    listeners: Sequence[Listener] = ()
    """Gateway event listeners, gated when loaded (see :mod:`shoal.interactions.gating`)."""
    migrations: Sequence[Migration] = ()
    """The feature's database migrations (applied by ``shoal migrate``)."""
    rate_limits: Mapping[str, Sequence[RateLimitRule]] = dataclasses.field(default_factory=dict)
    """Rules by command name (see :func:`command_name`); others get the defaults.
    An empty sequence turns rate limiting off for that command."""


def command_name(command: arc.abc.CallableCommandProto[Any]) -> str:
    """Return a command's name as metrics, logs and rate limits use it (``group sub``)."""
    return " ".join(command.qualified_name)


def top_level_commands(
    owner: arc.GatewayClient | arc.GatewayPlugin,
) -> Iterator[arc.abc.CommandBase[arc.GatewayClient, Any]]:
    """Yield the commands Discord knows: slash commands and groups, menu commands.

    Subcommands are left out: they travel inside their group.
    """
    slash = (
        command
        for command in owner.walk_commands(hikari.CommandType.SLASH, callable_only=False)
        if isinstance(command, (arc.SlashCommand, arc.SlashGroup))
    )
    yield from itertools.chain(
        slash,
        owner.walk_commands(hikari.CommandType.USER),
        owner.walk_commands(hikari.CommandType.MESSAGE),
    )


def _check_unique(modules: Sequence[Module]) -> None:
    names = collections.Counter(module.name for module in modules)
    if duplicates := sorted(name for name, count in names.items() if count > 1):
        msg = f"module names must be unique, repeated: {', '.join(duplicates)}"
        raise ValueError(msg)
    commands = collections.Counter(
        (command.command_type, command.name)
        for module in modules
        for plugin in module.plugins
        for command in top_level_commands(plugin)
    )
    if clashes := sorted(name for (_, name), count in commands.items() if count > 1):
        msg = f"command names must be unique across modules, repeated: {', '.join(clashes)}"
        raise ValueError(msg)


def load_modules(
    client: arc.GatewayClient, modules: Sequence[Module], *, gate: ListenerGate | None
) -> None:
    """Add every module's plugins, and its listeners wrapped by ``gate``, to ``client``.

    ``gate`` None leaves the listeners out: for a client that is never started
    (``sync-commands``), so no path subscribes a listener ungated.

    Raises:
        ValueError: when two modules share a name or a command name.
    """
    _check_unique(modules)
    for module in modules:
        for plugin in module.plugins:
            client.add_plugin(plugin)
        if gate is None:
            continue
        for listener in module.listeners:
            client.subscribe(listener.event_type, gate.wrap(listener.event_type, listener.callback))


def rate_limits_of(modules: Sequence[Module]) -> dict[str, Sequence[RateLimitRule]]:
    """Merge the modules' per-command rate limits (names are unique across modules)."""
    return {name: rules for module in modules for name, rules in module.rate_limits.items()}
