"""Building the worker's arc client: modules loaded, middleware installed, never syncing.

The composition root calls :func:`build_command_client` once, before starting the bot
(arc subscribes to the bot's start and interaction events). Workers never sync commands
(``autosync=False``): ``shoal sync-commands`` does it once per release. arc's own
auto-defer is off (``autodefer=False``): the middleware defers on its own schedule.

Every interaction path is claimed once across generations: commands by the middleware's
pre-hook, autocomplete by :class:`ClaimingGatewayClient` (arc runs no hook for it), and
component or modal interactions that modules listen to by the listener gate
(:mod:`shoal.interactions.gating`), which also keeps other events to the active
generation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import arc
from typing_extensions import override

from shoal.interactions.generations import EventClaims
from shoal.interactions.identity import WorkerIdentity
from shoal.interactions.middleware import CommandMiddleware
from shoal.interactions.modules import load_modules, rate_limits_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    import hikari

    from shoal.interactions.claiming import InteractionClaims
    from shoal.interactions.gating import ListenerGate
    from shoal.interactions.middleware import CommandSettings
    from shoal.interactions.modules import Module
    from shoal.interactions.rate_limiting import RateLimiter
    from shoal.observability.metrics import Metrics

__all__ = ["ClaimingGatewayClient", "build_command_client"]


class ClaimingGatewayClient(arc.GatewayClient):
    """arc's gateway client, answering an autocomplete only where it claims the interaction.

    arc runs no hook before autocomplete callbacks, so without this both generations would
    answer every autocomplete (and one of them would fail).
    """

    def __init__(
        self,
        bot: hikari.GatewayBotAware,
        *,
        claims: InteractionClaims,
        **options: Any,  # noqa: ANN401 - arc.GatewayClient's own keyword options
    ) -> None:
        """Build the client on ``bot``; ``claims`` decides who answers an autocomplete."""
        super().__init__(bot, **options)
        self._claims = claims

    @override
    async def on_autocomplete_interaction(
        self, interaction: hikari.AutocompleteInteraction
    ) -> hikari.api.InteractionAutocompleteBuilder | None:
        if not await self._claims.claim(interaction.id):
            return None
        return await super().on_autocomplete_interaction(interaction)


def build_command_client(
    bot: hikari.GatewayBotAware,
    *,
    modules: Sequence[Module],
    identity: WorkerIdentity,
    gate: ListenerGate,
    event_claims: EventClaims,
    rate_limiter: RateLimiter,
    metrics: Metrics,
    settings: CommandSettings | None = None,
) -> arc.GatewayClient:
    """Return an arc client on ``bot`` running ``modules`` behind the middleware.

    ``identity`` and ``event_claims`` are injectable in handlers
    (``identity: WorkerIdentity = arc.inject()``). ``gate.claims`` claims every
    interaction (commands, autocomplete, interaction listeners); other module listeners
    run only while ``gate.generation`` says this worker's generation is active.

    Raises:
        ValueError: when two modules share a name or a command name.
    """
    client = ClaimingGatewayClient(bot, claims=gate.claims, autosync=False, autodefer=False)
    client.set_type_dependency(WorkerIdentity, identity)
    client.set_type_dependency(EventClaims, event_claims)  # type: ignore[type-abstract]
    CommandMiddleware(
        claims=gate.claims,
        rate_limiter=rate_limiter,
        identity=identity,
        metrics=metrics,
        settings=settings,
        rate_limits=rate_limits_of(modules),
    ).attach(client)
    load_modules(client, modules, gate=gate)
    return client
