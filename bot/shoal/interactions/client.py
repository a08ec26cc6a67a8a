"""Building the worker's arc client: modules loaded, middleware installed, never syncing.

The composition root calls :func:`build_command_client` once, before starting the bot
(arc subscribes to the bot's start and interaction events). Workers never sync commands
(``autosync=False``): ``shoal sync-commands`` does it once per release. arc's own
auto-defer is off (``autodefer=False``): the middleware defers on its own schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import arc

from shoal.interactions.identity import WorkerIdentity
from shoal.interactions.middleware import CommandMiddleware
from shoal.interactions.modules import load_modules, rate_limits_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    import hikari

    from shoal.interactions.claiming import InteractionClaims
    from shoal.interactions.middleware import CommandSettings
    from shoal.interactions.modules import Module
    from shoal.interactions.rate_limiting import RateLimiter
    from shoal.observability.metrics import Metrics

__all__ = ["build_command_client"]


def build_command_client(
    bot: hikari.GatewayBotAware,
    *,
    modules: Sequence[Module],
    identity: WorkerIdentity,
    claims: InteractionClaims,
    rate_limiter: RateLimiter,
    metrics: Metrics,
    settings: CommandSettings | None = None,
) -> arc.GatewayClient:
    """Return an arc client on ``bot`` running ``modules`` behind the middleware.

    ``identity`` is injectable in handlers (``identity: WorkerIdentity = arc.inject()``).

    Raises:
        ValueError: when two modules share a name or a command name.
    """
    client = arc.GatewayClient(bot, autosync=False, autodefer=False)
    client.set_type_dependency(WorkerIdentity, identity)
    CommandMiddleware(
        claims=claims,
        rate_limiter=rate_limiter,
        identity=identity,
        metrics=metrics,
        settings=settings,
        rate_limits=rate_limits_of(modules),
    ).attach(client)
    load_modules(client, modules)
    return client
