"""kopf wiring: which events reconcile a DiscordBot, and what a pass writes back.

Create, spec update, resume (operator start) and a periodic timer all run the same
level-based :func:`shoal_operator.reconciling.reconcile`, serialised per object by a
lock so a timer never races a spec change. The pass's status replaces the old one (keys
that vanished are removed). Deletion needs no finalizer: every child carries an owner
reference and the garbage collector removes it (``optional=True`` keeps deletion from
hanging while the operator is down).

Owns the handler registry and kopf's settings; does not own the reconcile steps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from typing import TYPE_CHECKING, Any, Final, cast

import aiohttp
import kopf

from shoal_operator.kube import KubeApi
from shoal_operator.reconciling import BotRef, Connections, reconcile

if TYPE_CHECKING:
    from collections.abc import Coroutine, Mapping

    from shoal_operator.metrics import OperatorMetrics
    from shoal_operator.settings import OperatorSettings

__all__ = ["GROUP", "PLURAL", "VERSION", "OperatorMemo", "build_registry"]

GROUP: Final = "shoal.dev"
VERSION: Final = "v1alpha1"
PLURAL: Final = "discordbots"
_LOG = logging.getLogger(__name__)
_RETRY_DELAY_S: Final = 10.0
#: Seconds between kopf's checks that a cancelled timer pass has ended (see startup).
_CANCELLATION_POLLING_S: Final = 1.0


@dataclasses.dataclass(slots=True)
class OperatorMemo:
    """What every handler shares (kopf's ``memo``)."""

    settings: OperatorSettings
    """The operator's settings."""
    metrics: OperatorMetrics
    """Its metrics."""
    connections: Connections | None = None
    """Clients, opened at startup."""
    locks: dict[str, asyncio.Lock] = dataclasses.field(default_factory=dict)
    """One lock per DiscordBot uid."""
    last_pass_at: float = 0.0
    """Monotonic time of the last finished pass (the liveness probe reports it)."""


def _status_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    patch.update(new)
    return patch


async def _reconcile(
    memo: OperatorMemo, body: kopf.Body, patch: kopf.Patch, logger: kopf.Logger
) -> None:
    connections = memo.connections
    if connections is None:
        raise kopf.TemporaryError("the operator is still starting", delay=1)
    metadata = body.metadata
    bot = BotRef(
        namespace=str(metadata.namespace),
        name=str(metadata.name),
        generation=int(metadata.get("generation") or 0),
    )
    lock = memo.locks.setdefault(str(metadata.uid), asyncio.Lock())

    def emit(*, reason: str, message: str, is_warning: bool) -> None:
        kopf.event(body, type="Warning" if is_warning else "Normal", reason=reason, message=message)
        if reason in ("ReshardStarted", "ReshardCompleted", "ReshardAborted"):
            outcome = reason.removeprefix("Reshard").lower()
            memo.metrics.reshards.labels(bot.namespace, bot.name, outcome).inc()
        elif reason == "OrphanRemoved":
            memo.metrics.orphaned_generations_removed.labels(bot.namespace, bot.name).inc()

    async with lock:
        started = time.perf_counter()
        try:
            status = await reconcile(
                bot, dict(body), connections=connections, now=time.time(), emit=emit
            )
        except Exception as error:
            memo.metrics.reconcile_errors.labels(
                bot.namespace, bot.name, type(error).__name__
            ).inc()
            logger.exception("reconcile failed; retrying")
            raise kopf.TemporaryError(str(error), delay=_RETRY_DELAY_S) from error
        finally:
            memo.metrics.reconcile_seconds.labels(bot.namespace, bot.name).observe(
                time.perf_counter() - started
            )
        memo.last_pass_at = time.monotonic()
    memo.metrics.record_status(bot.namespace, bot.name, status)
    patch.status.update(_status_patch(body.status, status))


async def _unless_stopped(
    work: Coroutine[Any, Any, None], stopped: kopf.DaemonStopped, logger: kopf.Logger
) -> None:
    """Run a timer's pass, cancelled if kopf stops the timer (paused, bot deleted, exiting).

    kopf cannot cancel a running timer itself: it leaves it running. A replica that has
    just paused for a higher-priority one would then finish a pass begun on an older view
    of the bot, and a stopping operator would run it on closed connections. Cancelling is
    safe: every step of a pass is idempotent and the next pass (of whichever replica
    works) replays it.
    """
    if stopped:
        work.close()
        return
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stop):
            pending.cancel()
        await asyncio.gather(task, stop, return_exceptions=True)
    if task.cancelled():
        logger.info("reconcile pass cancelled: the timer stopped (%s)", stopped.reason)
        return
    task.result()  # re-raise what the pass raised, for kopf to retry


def _forget(memo: OperatorMemo, namespace: str, name: str) -> None:
    """Drop a deleted DiscordBot's metric series and its Lavalink nodes' up/down memory."""
    memo.metrics.forget(namespace, name)
    if memo.connections is not None:
        memo.connections.lavalink_watch.observe(namespace, name, {})


def build_registry(settings: OperatorSettings) -> kopf.OperatorRegistry:
    """Return a registry with every handler, the timer at the configured interval."""
    registry = kopf.OperatorRegistry()
    resource = (GROUP, VERSION, PLURAL)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:  # noqa: ANN401 - kopf's login kwargs
        # A fresh registry has none of kopf's default login handlers: use the pod's
        # service account or KUBECONFIG, through the kubernetes package.
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, memo: OperatorMemo, **_: object) -> None:
        settings.persistence.finalizer = f"{GROUP}/operator"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=GROUP, key="last-handled-configuration"
        )
        settings.posting.level = logging.INFO
        settings.scanning.disabled = True
        # A DiscordBot deleted while its timer pass runs: kopf re-checks the stopped timer
        # after this many seconds (default 60), and nothing else wakes it, so deletion would
        # wait that long.
        settings.background.cancellation_polling = _CANCELLATION_POLLING_S
        settings.peering.name = memo.settings.peering_name
        settings.peering.priority = memo.settings.priority
        settings.peering.standalone = memo.settings.is_standalone
        settings.peering.mandatory = not memo.settings.is_standalone
        # kopf keeps whole seconds (its Peer record does int(lifetime)): round up, so a
        # record never expires sooner than configured (and 0, which kopf reads as "gone",
        # is impossible: the setting is at least 1 s).
        settings.peering.lifetime = math.ceil(memo.settings.peering_lifetime_s)
        memo.connections = Connections(
            await KubeApi.from_environment(), aiohttp.ClientSession(), memo.metrics
        )

    @kopf.on.cleanup(registry=registry)
    async def cleanup(memo: OperatorMemo, **_: object) -> None:
        if memo.connections is not None:
            await memo.connections.close()
            memo.connections = None

    @kopf.on.create(*resource, id="created", registry=registry)
    @kopf.on.update(*resource, id="updated", field="spec", registry=registry)
    @kopf.on.resume(*resource, id="resumed", registry=registry)
    async def changed(
        body: kopf.Body, patch: kopf.Patch, memo: OperatorMemo, logger: kopf.Logger, **_: object
    ) -> None:
        await _reconcile(memo, body, patch, logger)

    @kopf.timer(
        *resource,
        interval=settings.reconcile_interval_s,
        initial_delay=settings.reconcile_interval_s,
        registry=registry,
    )
    async def tick(
        body: kopf.Body,
        patch: kopf.Patch,
        memo: OperatorMemo,
        logger: kopf.Logger,
        **kwargs: object,
    ) -> None:
        stopped = cast("kopf.DaemonStopped", kwargs["stopped"])  # kopf's TimerFn omits it
        await _unless_stopped(_reconcile(memo, body, patch, logger), stopped, logger)

    @kopf.on.delete(*resource, optional=True, registry=registry)
    async def deleted(body: kopf.Body, memo: OperatorMemo, **_: object) -> None:
        _forget(memo, str(body.metadata.namespace), str(body.metadata.name))
        memo.locks.pop(str(body.metadata.uid), None)

    @kopf.on.probe(id="last_pass_age_s", registry=registry)
    def last_pass_age(memo: OperatorMemo, **_: object) -> float | None:
        if not memo.last_pass_at:
            return None
        return round(time.monotonic() - memo.last_pass_at, 1)

    return registry
