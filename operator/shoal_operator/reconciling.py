"""One reconcile of a DiscordBot: observe, plan, act, and say so in status and Events.

Every pass is idempotent and level-based, so kopf runs the same function on create,
update, resume and a timer. A pass reads the spec and Secrets, asks Discord for
``GET /gateway/bot``, reads the shard registry in Redis (guild totals, READY shards not
stale, fatal closes), asks :func:`shoal.planning.reconciling.decide_reconcile` (the same
decision ``shoal local up`` makes) for the shard count and the step of the blue/green
reshard machine whose state lives in ``status.reshard``, carries out its actions (StatefulSets,
Services, PDBs, the active-generation key), removes orphaned generations
(``generation_removing``), keeps Lavalink (``lavalink_reconciling``) and
the command-sync Job in line, and returns the new status. If an action fails the
exception reaches kopf, which retries; the status is not advanced, and replaying the step
is safe.

Owns the order of those steps. Does not own the decisions (``shoal.planning``), the
object specs (``children``) or the HTTP calls (``kube``, ``discord_api``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import TYPE_CHECKING, Any, Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shoal.planning.reconciling import (
    PlanningRules,
    decide_reconcile,
    fleet_observation,
    growth_policy,
)
from shoal.planning.resharding import (
    ActivateGeneration,
    RemoveGeneration,
    ReshardState,
    RunGeneration,
)
from shoal.planning.sharding import ShardPolicy
from shoal.storage.fatal_closes import clear_fatal_closes, read_fatal_closes
from shoal.storage.redis_keys import RedisKeys
from shoal.storage.shard_registry import read_guild_history, read_registry, record_guild_total
from shoal_operator import children
from shoal_operator.conditions import bot_conditions, bot_phase, iso_time, merge_conditions
from shoal_operator.discord_api import (
    DiscordApiError,
    GatewayInfo,
    fetch_approximate_guild_count,
    fetch_gateway_info,
)
from shoal_operator.generation_removing import remove_generation, remove_orphaned_generations
from shoal_operator.kube import KubeApi, resource_of
from shoal_operator.lavalink_reconciling import NodeWatch, reconcile_lavalink
from shoal_operator.spec import BotSpec, SecretKeyRef, SpecError, parse_spec

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import aiohttp

    from shoal.planning.resharding import ReshardAction
    from shoal.storage.fatal_closes import FatalCloseRecord
    from shoal.storage.shard_registry import RegistryEntry
    from shoal_operator.metrics import OperatorMetrics

__all__ = ["BotRef", "Connections", "EventSink", "planning_rules", "pods_of", "reconcile"]

_LOG = logging.getLogger(__name__)
#: The guild history gets a sample at most this often (a day of samples is kept).
_HISTORY_INTERVAL_S: Final = 60.0
#: Close codes that need a person (token, intents, a shard the bot cannot run).
_DEGRADING_CLOSES: Final = frozenset({4004, 4010, 4012, 4013, 4014})
_JOB = resource_of("batch/v1", "Job")


@dataclasses.dataclass(frozen=True, slots=True)
class BotRef:
    """The DiscordBot being reconciled."""

    namespace: str
    """Its namespace (children live there too)."""
    name: str
    """Its name."""
    generation: int
    """``metadata.generation``: reported back as ``observedGeneration``."""


class EventSink(Protocol):
    """Posts a Kubernetes Event about the DiscordBot."""

    def __call__(self, *, reason: str, message: str, is_warning: bool) -> None:
        """Post one Event (kopf's poster in the operator, a list in tests)."""


class Connections:
    """The clients a reconcile needs, shared by every DiscordBot of the operator."""

    def __init__(
        self,
        kube: KubeApi,
        http: aiohttp.ClientSession,
        metrics: OperatorMetrics | None = None,
    ) -> None:
        """Use ``kube`` for the API server, ``http`` for Discord and Lavalink nodes.

        Per-node Lavalink gauges go to ``metrics`` (none are recorded when None).
        """
        self.kube = kube
        self.http = http
        self.lavalink_watch = NodeWatch(metrics)
        self._redis: dict[str, Redis] = {}

    def redis(self, url: str) -> Redis:
        """Return the (cached) client for a bot's Redis."""
        client = self._redis.get(url)
        if client is None:
            client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            self._redis[url] = client
        return client

    async def close(self) -> None:
        """Close every client."""
        for client in self._redis.values():
            await client.aclose()
        self._redis.clear()
        await self.kube.close()
        await self.http.close()


@dataclasses.dataclass(slots=True)
class _Problem(Exception):  # noqa: N818 - a reason to stop the pass, not a bug
    reason: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class _Observed:
    gateway: GatewayInfo
    entries: Sequence[RegistryEntry]
    guild_total: int | None
    history: Sequence[tuple[float, int]]
    fatal: Mapping[str, FatalCloseRecord]
    """Pod -> its fatal close record."""

    @property
    def fatal_codes(self) -> dict[int, str]:
        """Close code -> its reason, over every pod's record."""
        return {record.code: record.reason for record in self.fatal.values()}


async def _secret(kube: KubeApi, namespace: str, ref: SecretKeyRef, field: str) -> str:
    value = await kube.read_secret_key(namespace, ref.name, ref.key)
    if not value:
        raise _Problem("SecretMissing", f"{field}: Secret {ref.name!r} has no key {ref.key!r}")
    return value.strip()


async def _observe(
    spec: BotSpec,
    redis: Redis,
    keys: RedisKeys,
    *,
    token: str,
    http: aiohttp.ClientSession,
    now: float,
    pods: Sequence[str],
) -> _Observed:
    try:
        gateway = await fetch_gateway_info(
            http, api_base_url=spec.discord.api_base_url, token=token
        )
    except DiscordApiError as error:
        reason = "TokenRejected" if error.status == 401 else "DiscordUnavailable"  # noqa: PLR2004
        raise _Problem(reason, str(error)) from None
    try:
        entries = await read_registry(redis, keys)
        total = await record_guild_total(redis, keys, now=now, min_interval_s=_HISTORY_INTERVAL_S)
        history = await read_guild_history(redis, keys)
        fatal = await read_fatal_closes(redis, keys, pods)
    except (RedisError, OSError) as error:
        raise _Problem("RedisUnavailable", f"cannot use the bot's Redis: {error}") from None
    if total is None and not entries:
        # Nothing registered yet (a first deployment): Discord's approximate count sizes it.
        total = await fetch_approximate_guild_count(
            http, api_base_url=spec.discord.api_base_url, token=token
        )
    return _Observed(gateway, entries, total, history, fatal)


def planning_rules(spec: BotSpec) -> PlanningRules:
    """Return the planning rules of the DiscordBot ``spec`` (its ``shards`` section)."""
    shards = spec.shards
    return PlanningRules(
        policy=ShardPolicy(
            target_guilds_per_shard=shards.target_guilds_per_shard,
            max_guilds_per_shard=shards.max_guilds_per_shard,
            headroom=shards.headroom,
        ),
        growth=growth_policy(
            horizon_s=shards.growth_horizon_s, cooldown_s=shards.shrink_cooldown_s
        ),
        fixed_shards=shards.count if shards.mode == "Fixed" else None,
        fixed_source="spec.shards.count",
    )


def pods_of(state: ReshardState, per_pod: int, bot: str) -> dict[str, int]:
    """Return pod name -> its generation's shard count, for every pod ``state`` runs."""
    pods: dict[str, int] = {}
    for generation, shards in (
        (state.active_generation, state.active_shards),
        (state.target_generation, state.target_shards),
    ):
        if generation is not None and shards:
            name = children.shard_set_name(bot, generation)
            pods.update({f"{name}-{i}": shards for i in range(math.ceil(shards / per_pod))})
    return pods


async def _act(
    action: ReshardAction,
    spec: BotSpec,
    bot: BotRef,
    owner: Mapping[str, Any],
    *,
    kube: KubeApi,
    redis: Redis,
    keys: RedisKeys,
) -> None:
    ns, name = bot.namespace, bot.name
    if isinstance(action, RunGeneration):
        g = action.generation
        objects = (
            children.shard_stateful_set(
                spec, namespace=ns, bot=name, generation=g, shards=action.shards
            ),
            children.shard_service(namespace=ns, bot=name, generation=g),
            children.shard_disruption_budget(namespace=ns, bot=name, generation=g),
        )
        for obj in objects:
            await kube.apply(children.adopted(obj, owner))
    elif isinstance(action, ActivateGeneration):
        await redis.set(keys.active_generation(), str(action.generation))
    elif isinstance(action, RemoveGeneration):
        await remove_generation(kube, ns, name, action.generation)


async def _sync_commands(
    spec: BotSpec,
    bot: BotRef,
    owner: Mapping[str, Any],
    synced: str | None,
    *,
    kube: KubeApi,
    emit: EventSink,
) -> str | None:
    """Run the command-sync Job for a new image; return the image whose commands are synced."""
    if synced == spec.image:
        return synced
    job = await kube.apply(
        children.adopted(
            children.command_sync_job(spec, namespace=bot.namespace, bot=bot.name), owner
        )
    )
    status = job.get("status") or {}
    if int(status.get("succeeded") or 0) > 0:
        emit(reason="CommandsSynced", message=f"commands synced for {spec.image}", is_warning=False)
        return spec.image
    if int(status.get("failed") or 0) >= int(job.get("spec", {}).get("backoffLimit") or 0) + 1:
        emit(
            reason="CommandSyncFailed",
            message=f"job {job['metadata']['name']} failed",
            is_warning=True,
        )
    return synced


@dataclasses.dataclass(slots=True)
class _Pass:
    """What one pass found and did, for the status."""

    state: ReshardState
    degraded: _Problem | None = None
    ready: int = 0
    target_ready: int = 0
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)


def _state_of(old_status: Mapping[str, Any], bot: BotRef) -> ReshardState:
    try:
        return ReshardState.from_status(old_status.get("reshard"))
    except ValueError:
        _LOG.warning("status.reshard unreadable; starting afresh", extra={"bot": bot.name})
        return ReshardState()


def _checked_spec(bot: BotRef, body: Mapping[str, Any]) -> BotSpec:
    try:
        spec = parse_spec(body.get("spec"))
    except SpecError as error:
        raise _Problem("InvalidSpec", str(error)) from None
    if len(bot.name) > children.MAX_BOT_NAME_LENGTH:
        limit = children.MAX_BOT_NAME_LENGTH
        raise _Problem("InvalidSpec", f"metadata.name: at most {limit} characters")
    return spec


async def _run_pass(
    bot: BotRef,
    body: Mapping[str, Any],
    state: ReshardState,
    *,
    connections: Connections,
    now: float,
    emit: EventSink,
) -> _Pass:
    spec = _checked_spec(bot, body)
    kube = connections.kube
    token_ref, redis_ref = spec.token_secret, spec.redis_secret
    token = await _secret(kube, bot.namespace, token_ref, "spec.tokenSecretRef")
    redis = connections.redis(await _secret(kube, bot.namespace, redis_ref, "spec.redis"))
    keys = RedisKeys(children.redis_namespace_for(bot.namespace, bot.name))
    shards_of_pod = pods_of(state, spec.shards.shards_per_pod, bot.name)
    pods = list(shards_of_pod)
    observed = await _observe(
        spec, redis, keys, token=token, http=connections.http, now=now, pods=pods
    )
    planned = decide_reconcile(
        state,
        fleet_observation(
            observed.gateway,
            guild_total=observed.guild_total,
            history=observed.history,
            entries=observed.entries,
            close_codes={pod: record.code for pod, record in observed.fatal.items()},
            shards_of_pod=shards_of_pod,
            now=now,
        ),
        planning_rules(spec),
    )
    decision, ready_shards, step = planned.decision, planned.ready_shards, planned.step
    for action in step.actions:
        await _act(action, spec, bot, body, kube=kube, redis=redis, keys=keys)
    for event in step.events:
        emit(reason=event.reason, message=event.message, is_warning=event.is_warning)
    # Judged by the new state: a target the step just started is kept, not an orphan.
    for orphan in await remove_orphaned_generations(kube, bot.namespace, bot.name, step.state):
        message = f"removed shard generation {orphan}: no reshard state keeps it"
        emit(reason="OrphanRemoved", message=message, is_warning=True)
    result = _Pass(state=step.state)
    if step.state.last_reshard_at and step.state.last_reshard_at != state.last_reshard_at:
        result.fields["lastReshardTime"] = iso_time(step.state.last_reshard_at)
    result.ready = ready_shards.get(step.state.active_generation, 0)
    if step.state.target_generation is not None:
        result.target_ready = ready_shards.get(step.state.target_generation, 0)
    if result.ready >= step.state.active_shards > 0 and observed.fatal:
        await clear_fatal_closes(redis, keys, pods)  # it recovered
    nodes, nodes_ready = await reconcile_lavalink(
        spec,
        namespace=bot.namespace,
        bot=bot.name,
        kube=kube,
        redis=redis,
        keys=keys,
        http=connections.http,
        apply=lambda obj: kube.apply(children.adopted(obj, body)),
        watch=connections.lavalink_watch,
    )
    result.fields.update(
        guilds=observed.guild_total or 0,
        recommendedShards=observed.gateway.recommended_shards,
        desiredShards=decision.shards,
        planReason=decision.reason,
        maxConcurrency=observed.gateway.max_concurrency,
        sessionStartsRemaining=observed.gateway.session_starts_remaining,
        sessionStartsTotal=observed.gateway.session_starts_total,
        lavalinkNodes=nodes,
        lavalinkNodesReady=nodes_ready,
    )
    synced = await _sync_commands(
        spec, bot, body, (body.get("status") or {}).get("imageSynced"), kube=kube, emit=emit
    )
    if synced is not None:
        result.fields["imageSynced"] = synced
    result.degraded = _degradation(step.blocked_reason, step.blocked_message, observed)
    return result


def _degradation(
    blocked_reason: str | None, blocked_message: str | None, observed: _Observed
) -> _Problem | None:
    if blocked_reason is not None:
        return _Problem(blocked_reason, blocked_message or blocked_reason)
    degrading = sorted(code for code in observed.fatal_codes if code in _DEGRADING_CLOSES)
    if degrading:
        code = degrading[0]
        return _Problem("FatalClose", f"close code {code}: {observed.fatal_codes[code]}")
    return None


async def reconcile(
    bot: BotRef,
    body: Mapping[str, Any],
    *,
    connections: Connections,
    now: float,
    emit: EventSink,
) -> dict[str, Any]:
    """Reconcile the DiscordBot ``body`` once; return its new ``status`` (a full replacement)."""
    old_status: Mapping[str, Any] = body.get("status") or {}
    state = _state_of(old_status, bot)
    try:
        result = await _run_pass(bot, body, state, connections=connections, now=now, emit=emit)
    except _Problem as problem:
        result = _Pass(state=state, degraded=problem)
    return _status_of(bot, old_status, result, now=now, emit=emit)


def _status_of(
    bot: BotRef, old_status: Mapping[str, Any], result: _Pass, *, now: float, emit: EventSink
) -> dict[str, Any]:
    state, degraded = result.state, result.degraded
    status = {key: value for key, value in old_status.items() if key != "conditions"}
    status.pop("targetGeneration", None)
    status.update(result.fields)
    status.update(
        observedGeneration=bot.generation,
        phase=bot_phase(is_degraded=degraded is not None, state=state, ready=result.ready),
        currentShards=state.active_shards,
        readyShards=result.ready,
        activeGeneration=state.active_generation,
        reshard=state.to_status(),
    )
    if state.target_generation is not None:
        status["targetGeneration"] = state.target_generation
    old_conditions = old_status.get("conditions") or []
    was: Mapping[str, Any] = next((c for c in old_conditions if c.get("type") == "Degraded"), {})
    if degraded is not None and (
        was.get("reason") != degraded.reason or was.get("status") != "True"
    ):
        emit(reason=degraded.reason, message=degraded.message, is_warning=True)
    status["conditions"] = merge_conditions(
        old_conditions,
        bot_conditions(
            None if degraded is None else (degraded.reason, degraded.message),
            state,
            ready=result.ready,
            target_ready=result.target_ready,
        ),
        now=now,
        observed_generation=bot.generation,
    )
    return status
