"""Building the worker's arc client: modules loaded, middleware installed, never syncing.

The composition root calls :func:`build_command_client` once, before starting the bot
(arc subscribes to the bot's start and interaction events). Workers never sync commands
(``autosync=False``): ``shoal sync-commands`` does it once per release. arc's own
auto-defer is off (``autodefer=False``): the middleware defers on its own schedule.

Every interaction path enters through one door, the listener gate's ``admit`` (claimed
once across generations): commands by the middleware's pre-hook, autocomplete and
commands this worker does not know by :class:`ClaimingGatewayClient` (arc runs no hook
for them), and buttons, selects and modals by the
:class:`~shoal.interactions.components.ComponentRouter` (routed by custom_id, with the
commands' rate limits, deferral, error replies and metrics). Modules cannot listen to
interactions themselves; the listener gate (:mod:`shoal.interactions.gating`) keeps their
other listeners to the active generation.

A command this worker does not know (a stale command after a deploy that removed or
renamed it, a subcommand added since) gets an ephemeral "no longer available" answer
instead of silence, and ``shoal_interactions_unknown_total`` counts it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

import arc
import hikari
from typing_extensions import override

from shoal.interactions.components import ComponentRouter
from shoal.interactions.generations import EventClaims
from shoal.interactions.identity import WorkerIdentity
from shoal.interactions.middleware import CommandMiddleware, is_expired_reply
from shoal.interactions.modules import load_modules, owners_by_plugin, rate_limits_of
from shoal.observability.logging import shown

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shoal.interactions.gating import Admission, ListenerGate
    from shoal.interactions.middleware import CommandSettings
    from shoal.interactions.modules import Module
    from shoal.interactions.rate_limiting import RateLimiter
    from shoal.interactions.switching import FeatureSwitch
    from shoal.observability.metrics import Metrics

__all__ = ["UNKNOWN_COMMAND_REPLY", "ClaimingGatewayClient", "build_command_client"]

logger = logging.getLogger(__name__)

UNKNOWN_COMMAND_REPLY: Final = (
    "This command is no longer available: it was removed or renamed in an update. "
    "Type / to see the commands you can use now."
)
_GROUPING: Final = (hikari.OptionType.SUB_COMMAND, hikari.OptionType.SUB_COMMAND_GROUP)


def full_command_name(interaction: hikari.CommandInteraction) -> str:
    """Return the name arc files the invoked command under: ``group sub`` for subcommands."""
    names = [interaction.command_name]
    options: Sequence[hikari.CommandInteractionOption] | None = interaction.options
    while options and options[0].type in _GROUPING:
        names.append(options[0].name)
        options = options[0].options
    return " ".join(names)


class ClaimingGatewayClient(arc.GatewayClient):
    """arc's gateway client, admitting autocomplete and unknown commands through the gate.

    arc runs no hook before autocomplete callbacks, nor for a command it does not know
    (it logs the name and returns), so without this both generations would answer every
    autocomplete and nobody would answer an unknown command.
    """

    def __init__(
        self,
        bot: hikari.GatewayBotAware,
        *,
        admission: Admission,
        metrics: Metrics,
        **options: Any,  # noqa: ANN401 - arc.GatewayClient's own keyword options
    ) -> None:
        """Build the client on ``bot``; ``admission`` decides who answers what arc won't."""
        super().__init__(bot, **options)
        self._admission = admission
        self._metrics = metrics

    @override
    async def on_command_interaction(self, interaction: hikari.CommandInteraction) -> Any:
        if not self._knows(interaction):
            await self._answer_unknown(interaction)
            return None
        return await super().on_command_interaction(interaction)

    def _knows(self, interaction: hikari.CommandInteraction) -> bool:
        name = full_command_name(interaction)
        match interaction.command_type:
            case hikari.CommandType.SLASH:
                return self.find_command(hikari.CommandType.SLASH, name) is not None
            case hikari.CommandType.USER:
                return self.find_command(hikari.CommandType.USER, name) is not None
            case hikari.CommandType.MESSAGE:
                return self.find_command(hikari.CommandType.MESSAGE, name) is not None
            case _:
                return False

    @override
    async def on_autocomplete_interaction(
        self, interaction: hikari.AutocompleteInteraction
    ) -> hikari.api.InteractionAutocompleteBuilder | None:
        if not await self._admission.admit(interaction.id):
            return None
        if self._slash_commands.get(interaction.command_name) is None:
            self._metrics.interactions_unknown.labels("autocomplete").inc()
            _log_unknown("autocomplete for", interaction.command_name, interaction)
            await interaction.create_response([])  # no suggestions rather than an error
            return None
        return await super().on_autocomplete_interaction(interaction)

    async def _answer_unknown(self, interaction: hikari.CommandInteraction) -> None:
        if not await self._admission.admit(interaction.id):
            return
        self._metrics.interactions_unknown.labels("command").inc()
        name = full_command_name(interaction)
        _log_unknown("command", name, interaction)
        try:
            await interaction.create_initial_response(
                hikari.ResponseType.MESSAGE_CREATE,
                UNKNOWN_COMMAND_REPLY,
                flags=hikari.MessageFlag.EPHEMERAL,
            )
        except hikari.HTTPError as error:
            logger.warning(
                "could not tell the user /%s is no longer available: %s",
                shown(name),
                type(error).__name__,
                exc_info=not is_expired_reply(error),
                extra={"interaction_id": int(interaction.id)},
            )


def _log_unknown(what: str, name: str, interaction: hikari.PartialInteraction) -> None:
    logger.info(
        "received %s unknown command /%s; told the user it is no longer available",
        what,
        shown(name),
        extra={
            "interaction_id": int(interaction.id),
            "guild_id": None if interaction.guild_id is None else int(interaction.guild_id),
        },
    )


def build_command_client(  # noqa: PLR0913 - the doors every interaction passes, keyword-only
    bot: hikari.GatewayBotAware,
    *,
    modules: Sequence[Module],
    identity: WorkerIdentity,
    gate: ListenerGate,
    event_claims: EventClaims,
    rate_limiter: RateLimiter,
    metrics: Metrics,
    settings: CommandSettings | None = None,
    switch: FeatureSwitch | None = None,
) -> arc.GatewayClient:
    """Return an arc client on ``bot`` running ``modules`` behind the middleware.

    ``identity`` and ``event_claims`` are injectable in handlers
    (``identity: WorkerIdentity = arc.inject()``). ``gate.admit`` admits every
    interaction (commands, autocomplete, components and modals); module listeners run
    only while ``gate.generation`` says this worker's generation is active. ``switch``
    answers commands and components of modules a guild switched off with a polite note
    and makes their listeners skip that guild.

    Raises:
        ValueError: when two modules share a name, a command name or a component route.
    """
    client = ClaimingGatewayClient(
        bot, admission=gate, metrics=metrics, autosync=False, autodefer=False
    )
    client.set_type_dependency(WorkerIdentity, identity)
    client.set_type_dependency(EventClaims, event_claims)  # type: ignore[type-abstract]
    CommandMiddleware(
        admission=gate,
        rate_limiter=rate_limiter,
        identity=identity,
        metrics=metrics,
        settings=settings,
        rate_limits=rate_limits_of(modules),
        switch=switch,
        owners=owners_by_plugin(modules),
    ).attach(client)
    router = ComponentRouter(
        admission=gate,
        rate_limiter=rate_limiter,
        identity=identity,
        metrics=metrics,
        switch=switch,
        defer_after_s=(settings.defer_after_s if settings is not None else 2.0),
        **({} if settings is None else {"default_rate_limits": settings.default_rate_limits}),
    )
    load_modules(
        client, modules, gate=gate, router=router, switch=switch, event_claims=event_claims
    )
    bot.event_manager.subscribe(hikari.InteractionCreateEvent, router.on_interaction)
    return client
