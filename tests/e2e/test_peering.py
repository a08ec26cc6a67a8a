"""Acceptance: operator high availability through kopf peering, with real failovers.

Two real operators (``python -m shoal operator``, run as the chart runs them: not
standalone, one KopfPeering) watch one namespace: an active one at priority 100 and a
standby at priority 50, both with a 3 s peering lifetime (``SHOAL_OPERATOR_PEERING_LIFETIME_S``,
checked in the KopfPeering's records) so a failover takes seconds, not kopf's default minute.
Each has its own kubeconfig token, so each one's API calls are told apart
(``ApiCall.bearer_token``). It proves:

1. While the active operator is alive, the standby makes no call at all about DiscordBots or
   their children (not even a list or watch): the bot is created and made Ready by the active
   one alone. Both write their records into the KopfPeering (keep-alives): those calls are
   peering, not work, and are not counted.
2. When the active operator is killed (SIGKILL: it cannot remove its peering record), the
   standby resumes once that record's lifetime has run out (not sooner) and applies a spec
   change made meanwhile (``workers.logLevel``: the shard StatefulSet's ``SHOAL_LOG_LEVEL``
   and the status's ``observedGeneration``) within the lifetime plus a few seconds (seen:
   about 3.6 s after the kill).
3. When a priority-100 operator comes back, the standby pauses again, the newcomer applies
   the next spec change, and the standby then stays silent while the newcomer writes the
   status twice.
4. When that operator stops gracefully (SIGTERM, as in a rolling update), the standby resumes
   again (seen: about 0.2 s later; kopf removes a stopping operator's record, so nothing waits
   for the lifetime; the time is not asserted).

What kopf 1.45 does that one might not expect (read in ``kopf/_core/engines/peering.py``,
``kopf/_core/reactor/orchestration.py`` and ``kopf/_core/engines/daemons.py``, and seen here):

- With mandatory peering an operator starts *paused* and resumes only once its first look at
  the KopfPeering finds no live peer of higher or equal priority. So a standby that starts
  next to a live active operator never logs "Pausing operations": it was never running. The
  active one logs "Resuming operations after the pause" at start, and so does the standby at
  each takeover; "Pausing operations in favour of ..." is logged only when a running operator
  yields (step 3).
- Takeover is driven by the dead peer's ``lastseen + lifetime``: the standby sleeps until that
  deadline, then touches its own record, sees the peer dead, removes it and resumes. kopf
  keeps whole seconds (the operator rounds the setting up) and sends keep-alives 5-10 s before
  the lifetime ends, but at least every second: with 3 s, every second.
- Pausing is not instantaneous. kopf closes the watch streams, but a running timer pass is
  only asked to stop ("did not exit in time. Leaving it orphaned", logged each second) and
  runs to its end, writing children and status; and a spec change sent right after the
  "Pausing" line was once still handled by the pausing standby. Both operators then act on
  the same spec (the reconcile is idempotent), but an orphaned pass works from the body it
  started with. Hence step 3 checks the standby's silence after its last write, not from the
  instant of the pause.

The StatefulSet controller and kubelet are a SIMULATION (see ``tests.e2e.test_operator``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

import pytest

from shoal_sim.discord.server import running_simulator
from tests.e2e.kube.kubelet import SimulatedKubelet
from tests.e2e.operator_scenarios import (
    API,
    PEERING,
    WORLD,
    bot_manifest,
    condition,
    fresh_namespace,
    pod_runner,
    running_operator,
    seed_secrets,
    status_of,
    wait_until,
)

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Callable, Iterable

    from shoal_sim.discord.server import Simulator
    from tests.e2e.kube.emulator import ApiCall
    from tests.e2e.kube.fixtures import KubeApi

#: Short, so the failover is quick; kopf keeps whole seconds.
_LIFETIME_S: Final = 3
#: What a takeover may take beyond the lifetime: the standby's own keep-alive that wakes it,
#: its watch starting, and one reconcile pass.
_TAKEOVER_SLACK_S: Final = 7.0
_ACTIVE_TOKEN: Final = "shoal-operator-active"  # noqa: S105 - nothing checks it
_STANDBY_TOKEN: Final = "shoal-operator-standby"  # noqa: S105 - nothing checks it
_RETURNING_TOKEN: Final = "shoal-operator-returning"  # noqa: S105 - nothing checks it
_WRITE_VERBS: Final = frozenset({"create", "update", "patch", "delete", "deletecollection"})
_PAUSED: Final = "Pausing operations in favour of"
_RESUMED: Final = "Resuming operations after the pause"


def _is_work(call: ApiCall, token: str) -> bool:
    """A resource call ``token`` made that is not peering."""
    return call.bearer_token == token and call.verb is not None and call.resource != "kopfpeerings"


def _work(calls: Iterable[ApiCall], token: str, *, is_write_only: bool) -> list[tuple[str, str]]:
    """``token``'s non-peering resource calls: (verb, resource[/subresource])."""
    return [
        (str(c.verb), f"{c.resource}/{c.subresource}" if c.subresource else str(c.resource))
        for c in calls
        if _is_work(c, token) and (c.verb in _WRITE_VERBS or not is_write_only)
    ]


async def _logged(log: pathlib.Path, text: str) -> bool:
    """Whether ``log`` (written by a process this test started) contains ``text``."""
    return text in await asyncio.to_thread(log.read_text, errors="replace")


async def _peers(kube_api: KubeApi, namespace: str) -> dict[str, Any]:
    """The KopfPeering's records: identity -> {priority, lifetime, lastseen}."""
    peering = await kube_api.get("kopf.dev/v1", "KopfPeering", namespace, PEERING)
    return dict(peering.get("status") or {})


def _has_peer(kube_api: KubeApi, namespace: str, priority: int) -> Callable[[], Any]:
    """The KopfPeering holds a record of an operator with ``priority``."""

    async def check() -> bool:
        records = (await _peers(kube_api, namespace)).values()
        return any(r.get("priority") == priority for r in records)

    return check


async def _worker_log_level(kube_api: KubeApi, namespace: str) -> str | None:
    """``SHOAL_LOG_LEVEL`` in the shard StatefulSet's pod template (None: no StatefulSet)."""
    shards = await kube_api.find("apps/v1", "StatefulSet", namespace, "bot-shards-g0")
    if shards is None:
        return None
    env = shards["spec"]["template"]["spec"]["containers"][0]["env"]
    return next((str(e["value"]) for e in env if e["name"] == "SHOAL_LOG_LEVEL"), None)


async def _change_worker_log_level(kube_api: KubeApi, namespace: str, level: str) -> int:
    """Set ``spec.workers.logLevel``; return the bot's new generation."""
    patch = {"spec": {"workers": {"logLevel": level}}}
    changed = await kube_api.patch(API, "discordbots", namespace, "bot", patch)
    return int(changed["metadata"]["generation"])


def _applied(kube_api: KubeApi, namespace: str, level: str, generation: int) -> Callable[[], Any]:
    """The shard StatefulSet runs workers at ``level`` and the status saw ``generation``."""

    async def check() -> bool:
        status = await status_of(kube_api, namespace)
        return (
            await _worker_log_level(kube_api, namespace) == level
            and status.get("observedGeneration") == generation
        )

    return check


def _bot(namespace: str, sim: Simulator) -> dict[str, Any]:
    """``bot_manifest`` without Lavalink.

    Its pods are placeholders here: every pass would spend the stats timeout (2 s) failing to
    reach them, slowing each takeover.
    """
    bot = bot_manifest(namespace, sim)
    bot["spec"]["lavalink"] = {"enabled": False}
    return bot


@pytest.mark.timeout(120)  # real worker processes, two failovers
async def test_operator_standby_takes_over_and_yields_again_when_the_active_one_dies_and_returns(
    kube_api: KubeApi, redis_url: str, tmp_path: pathlib.Path
) -> None:
    namespace = fresh_namespace()
    logs = {name: tmp_path / f"{name}.log" for name in ("active", "standby", "returning")}
    runner = pod_runner(tmp_path)
    calls = kube_api.emulator.calls

    async def seen() -> str:
        standby = await asyncio.to_thread(logs["standby"].read_text, errors="replace")
        return (
            f"peers={await _peers(kube_api, namespace)} "
            f"status={await status_of(kube_api, namespace)}\nstandby log:\n{standby[-3000:]}"
        )

    async with (
        running_simulator(WORLD) as sim,
        SimulatedKubelet(kube_api, runner=runner, job_runner=runner, namespace=namespace),
        running_operator(
            kube_api,
            namespace,
            logs["active"],
            priority=100,
            token=_ACTIVE_TOKEN,
            peering_lifetime_s=_LIFETIME_S,
        ) as active,
    ):
        await seed_secrets(kube_api, namespace, redis_url)
        await wait_until(
            _has_peer(kube_api, namespace, 100), "the active operator's record", log=logs["active"]
        )
        async with running_operator(
            kube_api,
            namespace,
            logs["standby"],
            priority=50,
            token=_STANDBY_TOKEN,
            peering_lifetime_s=_LIFETIME_S,
        ):
            await wait_until(
                _has_peer(kube_api, namespace, 50), "the standby's record", log=logs["standby"]
            )
            lifetimes = {r["lifetime"] for r in (await _peers(kube_api, namespace)).values()}
            assert lifetimes == {_LIFETIME_S}, "SHOAL_OPERATOR_PEERING_LIFETIME_S was not applied"

            # 1. The active operator alone makes the bot Ready.
            await kube_api.create(_bot(namespace, sim))

            async def ready() -> bool:
                status = await status_of(kube_api, namespace)
                return condition(status, "Ready").get("status") == "True"

            await wait_until(ready, "the bot Ready", log=logs["active"], state=seen)
            assert {"statefulsets", "discordbots/status"} <= {
                resource for _, resource in _work(calls, _ACTIVE_TOKEN, is_write_only=True)
            }
            assert _work(calls, _STANDBY_TOKEN, is_write_only=False) == []
            assert not await _logged(logs["standby"], _RESUMED)

            # 2. SIGKILL: the active operator's record stays until its lifetime runs out.
            active.kill()
            await active.wait()
            killed_at = len(calls)
            started = asyncio.get_running_loop().time()
            generation = await _change_worker_log_level(kube_api, namespace, "DEBUG")
            await wait_until(
                _applied(kube_api, namespace, "DEBUG", generation),
                "the standby to take over and apply workers.logLevel DEBUG",
                log=logs["standby"],
                timeout_s=_LIFETIME_S + _TAKEOVER_SLACK_S,
                state=seen,
            )
            takeover_s = asyncio.get_running_loop().time() - started
            assert takeover_s >= _LIFETIME_S - 1, "taken over before the record could expire"
            assert await _logged(logs["standby"], _RESUMED)
            assert {"statefulsets", "discordbots/status"} <= {
                resource
                for _, resource in _work(calls[killed_at:], _STANDBY_TOKEN, is_write_only=True)
            }

            # 3. A priority-100 operator returns: the standby yields to it.
            async with running_operator(
                kube_api,
                namespace,
                logs["returning"],
                priority=100,
                token=_RETURNING_TOKEN,
                peering_lifetime_s=_LIFETIME_S,
            ) as returning:
                await wait_until(
                    lambda: _logged(logs["standby"], _PAUSED),
                    "the standby to pause again",
                    log=logs["standby"],
                    timeout_s=_LIFETIME_S + _TAKEOVER_SLACK_S,
                    state=seen,
                )
                generation = await _change_worker_log_level(kube_api, namespace, "WARNING")
                await wait_until(
                    _applied(kube_api, namespace, "WARNING", generation),
                    "the returning operator to apply workers.logLevel WARNING",
                    log=logs["returning"],
                    state=seen,
                )

                async def standby_quiet() -> bool:
                    # Since the standby's last write, the returning operator wrote the status
                    # twice (a pass the standby began before pausing may still be ending).
                    last = max(
                        (
                            i
                            for i, call in enumerate(calls)
                            if _is_work(call, _STANDBY_TOKEN) and call.verb in _WRITE_VERBS
                        ),
                        default=0,
                    )
                    writes = _work(calls[last:], _RETURNING_TOKEN, is_write_only=True)
                    return writes.count(("patch", "discordbots/status")) >= 2

                await wait_until(
                    standby_quiet,
                    "the standby to stop writing for two passes of the returning operator",
                    log=logs["standby"],
                    timeout_s=15,
                    state=seen,
                )

                # 4. A graceful stop (SIGTERM, as in a rolling update) hands back at once: kopf
                # removes the stopping operator's record, so nothing waits for its lifetime.
                returning.terminate()

                async def resumed_again() -> bool:
                    text = await asyncio.to_thread(logs["standby"].read_text, errors="replace")
                    return text.count(_RESUMED) == 2  # the takeover, then this

                await wait_until(
                    resumed_again,
                    "the standby to resume after a graceful stop",
                    log=logs["standby"],
                    timeout_s=_LIFETIME_S + _TAKEOVER_SLACK_S,
                    state=seen,
                )
