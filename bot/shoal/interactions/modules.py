"""Feature modules: what a feature contributes, and loading them into an arc client.

A feature (``shoal.features.<name>``) provides a factory taking the feature kit
(``shoal.kit.services.FeatureKit``) and returning a :class:`Module`: its arc plugins
(commands), component and modal routes, event listeners, message taps, background jobs,
start and stop hooks, settings schema, migrations and per-command rate limits. An arc
plugin and its commands belong to one client, so call the factory once per client (a
worker builds one; tests and ``sync-commands`` build their own).

Listeners are never subscribed as given: :func:`load_modules` wraps each one through a
:class:`~shoal.interactions.gating.ListenerGate` (other events only on the active
generation), skips guilds where the module is switched off, and claims the event first
when the listener is exactly-once (:attr:`Listener.claim`); it leaves them out when the
client never starts. Interactions never reach a module listener: commands enter through
the command middleware and components and modals through the
:class:`~shoal.interactions.components.ComponentRouter`, one door for all, so a listener on
``hikari.InteractionCreateEvent`` is refused (it would claim interactions the middleware
must answer).
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any, Final

import arc
import hikari

from shoal.interactions.components import RouteOwner

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence

    import pydantic

    from shoal.interactions.components import ComponentRoute, ComponentRouter
    from shoal.interactions.gating import ListenerGate
    from shoal.interactions.generations import EventClaims
    from shoal.interactions.limits import RateLimitRule
    from shoal.interactions.switching import FeatureSwitch
    from shoal.kit.guilds import GuildSeen
    from shoal.kit.jobs import Job
    from shoal.kit.messages import MessageFacts
    from shoal.storage.migration_plans import Migration

__all__ = [
    "Listener",
    "Module",
    "command_name",
    "load_modules",
    "owner_of",
    "owners_by_plugin",
    "rate_limits_of",
    "top_level_commands",
]

logger = logging.getLogger(__name__)

_SKIP_NOTE_EVERY_S: Final = 60.0
"""A listener skipping events because its module's switch cannot be read says so this often."""


@dataclasses.dataclass(frozen=True, slots=True)
class Listener:
    """An event listener a module subscribes on the bot."""

    event_type: type[Any]
    """A hikari event class. Typed like hikari's own ``subscribe``, because mypy refuses
    abstract classes (``hikari.MessageCreateEvent``) where ``type[Event]`` is expected."""
    callback: Callable[[Any], Coroutine[Any, Any, None]]
    """Called with each event of ``event_type`` (hikari's callback shape)."""
    claim: Callable[[Any], tuple[str, int] | None] | None = None
    """For side effects that must happen once even while two generations overlap: returns
    the event's claim (kind, id), claimed through ``EventClaims`` before ``callback`` runs
    (a worker that loses the claim skips the event); None from it: no claim needed."""

    def __post_init__(self) -> None:
        """Reject an event type that is not a hikari event, or an interaction listener."""
        if not (isinstance(self.event_type, type) and issubclass(self.event_type, hikari.Event)):
            msg = f"event_type must be a hikari event class, got {self.event_type!r}"
            raise TypeError(msg)
        if issubclass(self.event_type, hikari.InteractionCreateEvent):
            msg = (
                "a module may not listen to InteractionCreateEvent: commands enter through "
                "its plugins and buttons, selects and modals through Module.components "
                "(custom_id routes), so each is claimed and answered once"
            )
            raise TypeError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class Module:
    """Everything one feature adds to the worker."""

    name: str
    """Unique among the loaded modules; its feature flag and settings key."""
    title: str = ""
    """How members see it named (``Levels``); the name capitalised when empty."""
    is_switchable: bool = True
    """Whether a guild can switch it off (core cannot)."""
    is_on_by_default: bool = True
    """Whether it is on in a guild that never switched it."""
    settings: type[pydantic.BaseModel] | None = None
    """Its per-guild settings schema: a frozen pydantic model whose every field has a
    default (see ``shoal.kit.settings``)."""
    plugins: Sequence[arc.GatewayPlugin] = ()
    """arc plugins holding the feature's commands."""
    components: Sequence[ComponentRoute] = ()
    """Its buttons', selects' and modals' custom_id routes."""
    listeners: Sequence[Listener] = ()
    """Gateway event listeners, gated when loaded (see :mod:`shoal.interactions.gating`)."""
    message_taps: Sequence[Callable[[MessageFacts], None]] = ()
    """Called with every guild or DM message's facts, before hikari parses it, on the
    active generation only: synchronous and cheap (queue the work, never await)."""
    guild_taps: Sequence[Callable[[GuildSeen], None]] = ()
    """Called with what every GUILD_CREATE and GUILD_UPDATE says of its guild, before hikari
    parses it, on every worker (a guild's facts are the same from any generation), with no
    switch check: synchronous and cheap (queue the work, never await)."""
    jobs: Sequence[Job] = ()
    """Background jobs, each run by one worker of the active generation at a time."""
    on_start: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    """Awaited once when the worker starts, before its shards connect."""
    on_stop: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    """Awaited once when the worker stops (SIGTERM), after its shards closed and before
    Redis and PostgreSQL are: flush buffers here."""
    migrations: Sequence[Migration] = ()
    """The feature's database migrations (applied by ``shoal migrate``)."""
    dependencies: Mapping[type[Any], object] = dataclasses.field(default_factory=dict)
    """Services its handlers inject by type (``service: LevelsService = arc.inject()``)."""
    rate_limits: Mapping[str, Sequence[RateLimitRule]] = dataclasses.field(default_factory=dict)
    """Rules by command name (see :func:`command_name`); others get the defaults.
    An empty sequence turns rate limiting off for that command."""

    @property
    def shown_name(self) -> str:
        """Its title, or its name capitalised."""
        return self.title or self.name.replace("_", " ").capitalize()


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
    client: arc.GatewayClient,
    modules: Sequence[Module],
    *,
    gate: ListenerGate | None,
    router: ComponentRouter | None = None,
    switch: FeatureSwitch | None = None,
    event_claims: EventClaims | None = None,
) -> None:
    """Add every module's plugins, component routes and wrapped listeners to ``client``.

    ``gate`` None leaves the listeners out: for a client that is never started
    (``sync-commands``), so no path subscribes a listener ungated. ``switch`` makes
    listeners skip guilds where their module is off; ``event_claims`` claims events for
    exactly-once listeners (required when a module declares one).

    Raises:
        ValueError: when two modules share a name, a command name or a component route,
            or an exactly-once listener has no ``event_claims``.
    """
    _check_unique(modules)
    for module in modules:
        for dependency_type, instance in module.dependencies.items():
            client.set_type_dependency(dependency_type, instance)
        for plugin in module.plugins:
            client.add_plugin(plugin)
        if router is not None:
            for route in module.components:
                router.add(route, owner_of(module))
        if gate is None:
            continue
        for listener in module.listeners:
            callback = _guarded(module, listener, switch=switch, event_claims=event_claims)
            client.subscribe(listener.event_type, gate.wrap(listener.event_type, callback))


def owner_of(module: Module) -> RouteOwner:
    """Return what the middleware needs to know of ``module`` (its flag and title)."""
    return RouteOwner(
        module=module.name,
        title=module.shown_name,
        is_switchable=module.is_switchable,
        is_on_by_default=module.is_on_by_default,
    )


def owners_by_plugin(modules: Sequence[Module]) -> dict[str, RouteOwner]:
    """Return each arc plugin's name -> its module's owner facts (for command switches)."""
    return {plugin.name: owner_of(module) for module in modules for plugin in module.plugins}


def _guarded(
    module: Module,
    listener: Listener,
    *,
    switch: FeatureSwitch | None,
    event_claims: EventClaims | None,
) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """Wrap ``listener``'s callback: skip guilds where ``module`` is off, claim if once."""
    callback = listener.callback
    claim = listener.claim
    if claim is not None and event_claims is None:
        msg = f"{module.name} declares an exactly-once listener but no event claims were given"
        raise ValueError(msg)
    checks_switch = switch is not None and module.is_switchable

    unreadable: dict[str, float] = {}  # error type -> when it was last logged

    async def guarded(event: Any) -> None:  # noqa: ANN401 - hikari's listener shape
        if checks_switch:
            guild_id = getattr(event, "guild_id", None)
            try:
                is_on = guild_id is None or await switch.is_enabled(  # type: ignore[union-attr]
                    int(guild_id), module.name, is_on_by_default=module.is_on_by_default
                )
            except Exception as error:  # noqa: BLE001 - the event is skipped, said once a minute
                _skipped_unreadable(module.name, error, unreadable)
                return
            if not is_on:
                return
        if claim is not None:
            key = claim(event)
            if key is not None and not await event_claims.claim_event(*key):  # type: ignore[union-attr]
                return
        await callback(event)

    if not checks_switch and claim is None:
        return callback
    return guarded


def _skipped_unreadable(module: str, error: Exception, logged: dict[str, float]) -> None:
    """Log (once a minute per error type, no traceback) an event skipped for its settings."""
    kind = type(error).__name__
    now = time.monotonic()
    if now - logged.get(kind, -_SKIP_NOTE_EVERY_S) < _SKIP_NOTE_EVERY_S:
        return
    logged[kind] = now
    logger.warning(
        "%s's listeners skip events: whether the module is on cannot be read (%s: %s); "
        "check PostgreSQL and that `shoal migrate` ran",
        module,
        kind,
        error,
    )


def rate_limits_of(modules: Sequence[Module]) -> dict[str, Sequence[RateLimitRule]]:
    """Merge the modules' per-command rate limits (names are unique across modules)."""
    return {name: rules for module in modules for name, rules in module.rate_limits.items()}
