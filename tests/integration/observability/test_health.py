"""``/livez``, ``/readyz`` and ``/metrics`` served by a real aiohttp server on loopback."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from shoal.config import HttpSettings
from shoal.observability.health import HealthServer, LoopWatch
from shoal.observability.metrics import CommandOutcome, Metrics
from shoal.observability.shard_status import ShardStatus

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping


class _Shards:
    """A shard status source whose states the test sets."""

    def __init__(self) -> None:
        self.states: dict[int, ShardStatus] = {}

    def shard_states(self) -> Mapping[int, ShardStatus]:
        return self.states


async def _get(port: int, path: str) -> tuple[int, str, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, response.headers["Content-Type"], await response.read()


async def _json(port: int, path: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.json()


@pytest.fixture
async def shards() -> _Shards:
    return _Shards()


@pytest.fixture
async def server(shards: _Shards) -> AsyncIterator[tuple[HealthServer, Metrics]]:
    metrics = Metrics()
    health = HealthServer(HttpSettings(host="127.0.0.1", port=0), metrics=metrics, shards=shards)
    await health.start()
    try:
        yield health, metrics
    finally:
        await health.stop()


async def test_livez_is_200_when_the_loop_ticks(server: tuple[HealthServer, Metrics]) -> None:
    status, body = await _json(server[0].port, "/livez")
    assert status == 200
    assert body["alive"] is True
    assert body["loop_lag_ms"] >= 0


async def test_livez_is_503_when_the_loop_has_not_ticked_for_too_long() -> None:
    watch = LoopWatch(tick_s=60.0)  # never ticks during the test
    health = HealthServer(
        HttpSettings(host="127.0.0.1", port=0),
        metrics=Metrics(),
        shards=_Shards(),
        stall_after_s=5.0,
        loop_watch=watch,
    )
    await health.start()
    try:
        watch.last_tick_s = time.monotonic() - 6.0
        status, body = await _json(health.port, "/livez")
    finally:
        await health.stop()
    assert status == 503
    assert body["alive"] is False


async def test_readyz_is_503_then_200_when_every_shard_becomes_ready(
    server: tuple[HealthServer, Metrics], shards: _Shards
) -> None:
    port = server[0].port
    no_shards = await _json(port, "/readyz")
    shards.states = {0: ShardStatus.READY, 1: ShardStatus.CONNECTING, 2: ShardStatus.RESUMING}
    some_ready = await _json(port, "/readyz")
    shards.states = {0: ShardStatus.READY, 1: ShardStatus.READY, 2: ShardStatus.READY}
    all_ready = await _json(port, "/readyz")
    assert no_shards == (503, {"ready": False, "not_ready": {}})
    assert some_ready == (503, {"ready": False, "not_ready": {"1": "connecting", "2": "resuming"}})
    assert all_ready == (200, {"ready": True, "not_ready": {}})


async def test_metrics_serves_shoal_metrics_in_the_text_format_when_scraped(
    server: tuple[HealthServer, Metrics],
) -> None:
    health, metrics = server
    metrics.record_shard(3, status=ShardStatus.READY, latency_s=0.042, guilds=1234)
    metrics.record_command("ping", CommandOutcome.OK, 0.012)
    metrics.gateway_events.labels("MESSAGE_CREATE").inc(5)
    metrics.rest_requests.labels("GET /users/@me", "200").inc()
    status, content_type, raw = await _get(health.port, "/metrics")
    text = raw.decode()
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert 'shoal_shard_state{shard="3",shoal_shard_state="ready"} 1.0' in text
    assert 'shoal_shard_heartbeat_latency_seconds{shard="3"} 0.042' in text
    assert 'shoal_shard_guilds{shard="3"} 1234.0' in text
    assert 'shoal_commands_total{command="ping",outcome="ok"} 1.0' in text
    assert 'shoal_command_duration_seconds_count{command="ping"} 1.0' in text
    assert 'shoal_gateway_events_total{type="MESSAGE_CREATE"} 5.0' in text
    assert 'shoal_rest_requests_total{route="GET /users/@me",status="200"} 1.0' in text
    assert "shoal_process_resident_memory_bytes " in text
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(line.startswith("shoal_") for line in samples), samples
