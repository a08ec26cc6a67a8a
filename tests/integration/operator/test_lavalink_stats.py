"""GET /v4/stats on Lavalink nodes: stats per node, nodes down for a reason, state-change logs.

The nodes are :class:`_StandIn` servers on loopback ports, not Lavalink (a Java server that
cannot run here).
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
from typing import TYPE_CHECKING, Final

import aiohttp
import orjson
import pytest
from aiohttp import web

from shoal.planning.audio_nodes import LavalinkNodeStats
from shoal_operator.lavalink_reconciling import NodeWatch
from shoal_operator.lavalink_stats import NodeDown, poll_lavalink_nodes
from shoal_operator.metrics import OperatorMetrics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

_PASSWORD: Final = "youshallnotpass"  # noqa: S105 - the stand-in's made-up password
_STATS: Final = {
    "players": 4,
    "playingPlayers": 3,
    "uptime": 86_400_000,
    "memory": {"free": 100, "used": 200, "allocated": 300, "reservable": 400},
    "cpu": {"cores": 2, "systemLoad": 0.3, "lavalinkLoad": 0.05},
    "frameStats": {"sent": 9000, "nulled": 6, "deficit": 2},
}
_NODE_LOG: Final = "shoal_operator.lavalink_reconciling"


@dataclasses.dataclass(slots=True)
class _StandIn:
    """A stand-in for one Lavalink v4 node that serves only ``GET /v4/stats``.

    It answers in the shape Lavalink v4 documents (``players``, ``playingPlayers``,
    ``uptime``, ``memory``, ``cpu``, ``frameStats`` or null), with the
    ``Lavalink-Api-Version: 4`` header, and checks ``Authorization`` like Lavalink: 401
    without it, 403 with a wrong password, both with Lavalink's error body. Every other
    route is aiohttp's 404. ``body`` replaces the stats to serve garbage.
    """

    body: bytes = dataclasses.field(default_factory=lambda: orjson.dumps(_STATS))
    password: str = _PASSWORD
    authorizations: list[str | None] = dataclasses.field(default_factory=list)
    """The ``Authorization`` header of every request (None when missing)."""
    address: str = ""
    """``host:port`` once it listens."""


_NODE: Final = web.AppKey("node", _StandIn)


def _lavalink_error(request: web.Request, status: int, error: str) -> web.Response:
    body = {
        "timestamp": int(time.time() * 1000),
        "status": status,
        "error": error,
        "message": error,
        "path": request.path,
    }
    return web.json_response(body, status=status, headers={"Lavalink-Api-Version": "4"})


async def _stats(request: web.Request) -> web.Response:
    node = request.app[_NODE]
    authorization = request.headers.get("Authorization")
    node.authorizations.append(authorization)
    if authorization is None:
        return _lavalink_error(request, 401, "Unauthorized")
    if authorization != node.password:
        return _lavalink_error(request, 403, "Forbidden")
    return web.Response(
        body=node.body, content_type="application/json", headers={"Lavalink-Api-Version": "4"}
    )


@pytest.fixture
async def start_node() -> AsyncIterator[Callable[[_StandIn], Awaitable[_StandIn]]]:
    """Start stand-in nodes on free loopback ports; stop them all at the end."""
    runners: list[web.AppRunner] = []

    async def start(node: _StandIn) -> _StandIn:
        app = web.Application()
        app[_NODE] = node
        app.router.add_get("/v4/stats", _stats)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        runners.append(runner)
        sock = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        node.address = f"127.0.0.1:{sock.getsockname()[1]}"
        return node

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_poll_lavalink_nodes_parses_each_nodes_stats_when_every_node_answers(
    http: aiohttp.ClientSession, start_node: Callable[[_StandIn], Awaitable[_StandIn]]
) -> None:
    busy = await start_node(_StandIn())
    idle_body = _STATS | {"players": 0, "playingPlayers": 0, "frameStats": None}
    idle = await start_node(_StandIn(body=orjson.dumps(idle_body)))
    polls = await poll_lavalink_nodes(http, [busy.address, idle.address], password=_PASSWORD)
    assert polls == {
        busy.address: LavalinkNodeStats(
            players=4,
            playing_players=3,
            system_load=0.3,
            frames_sent=9000,
            frames_nulled=6,
            frames_deficit=2,
        ),
        idle.address: LavalinkNodeStats(
            players=0,
            playing_players=0,
            system_load=0.3,
            frames_sent=None,
            frames_nulled=None,
            frames_deficit=None,
        ),
    }


async def test_poll_lavalink_nodes_sends_the_password_when_asking_a_node(
    http: aiohttp.ClientSession, start_node: Callable[[_StandIn], Awaitable[_StandIn]]
) -> None:
    node = await start_node(_StandIn())
    await poll_lavalink_nodes(http, [node.address], password=_PASSWORD)
    assert node.authorizations == [_PASSWORD]


async def test_stand_in_answers_401_when_the_authorization_header_is_missing(
    http: aiohttp.ClientSession, start_node: Callable[[_StandIn], Awaitable[_StandIn]]
) -> None:
    node = await start_node(_StandIn())
    async with http.get(f"http://{node.address}/v4/stats") as response:
        assert response.status == 401
        assert (await response.json())["path"] == "/v4/stats"


async def test_poll_lavalink_nodes_counts_a_node_down_when_it_refuses_the_password(
    http: aiohttp.ClientSession,
    start_node: Callable[[_StandIn], Awaitable[_StandIn]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = await start_node(_StandIn(password="another-password"))  # noqa: S106 - made up
    caplog.set_level(logging.DEBUG)
    polls = await poll_lavalink_nodes(http, [node.address], password=_PASSWORD)
    down = polls[node.address]
    assert isinstance(down, NodeDown)
    assert "refused the password (HTTP 403)" in down.reason
    NodeWatch().observe("bots", "mybot", {"mybot-lavalink-0": down})
    assert _PASSWORD not in down.reason
    assert all(_PASSWORD not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>not lavalink</html>", "answered something that is not JSON"),
        (b"[1, 2]", "answered JSON that is not an object"),
        (orjson.dumps(_STATS | {"cpu": None}), "Lavalink stats: cpu must be an object, got None"),
        (orjson.dumps({"players": 1}), "Lavalink stats: playingPlayers must be an integer"),
    ],
)
async def test_poll_lavalink_nodes_counts_a_node_down_when_it_answers_garbage(
    http: aiohttp.ClientSession,
    start_node: Callable[[_StandIn], Awaitable[_StandIn]],
    body: bytes,
    reason: str,
) -> None:
    node = await start_node(_StandIn(body=body))
    polls = await poll_lavalink_nodes(http, [node.address], password=_PASSWORD)
    down = polls[node.address]
    assert isinstance(down, NodeDown)
    assert reason in down.reason


async def test_poll_lavalink_nodes_counts_a_node_down_when_nothing_listens(
    http: aiohttp.ClientSession,
    start_node: Callable[[_StandIn], Awaitable[_StandIn]],
    closed_port: int,
) -> None:
    node = await start_node(_StandIn())
    gone = f"127.0.0.1:{closed_port}"
    polls = await poll_lavalink_nodes(http, [node.address, gone], password=_PASSWORD)
    assert isinstance(polls[node.address], LavalinkNodeStats)
    down = polls[gone]
    assert isinstance(down, NodeDown)
    assert down.reason.startswith("cannot connect: ")


async def test_poll_lavalink_nodes_counts_a_node_down_when_it_answers_after_the_timeout(
    http: aiohttp.ClientSession,
    start_node: Callable[[_StandIn], Awaitable[_StandIn]],
    silent_port: int,
) -> None:
    node = await start_node(_StandIn())
    silent = f"127.0.0.1:{silent_port}"
    started = time.monotonic()
    polls = await poll_lavalink_nodes(
        http, [silent, node.address], password=_PASSWORD, timeout_s=0.3
    )
    elapsed_s = time.monotonic() - started
    assert polls[silent] == NodeDown("no answer within 0.3 s")
    assert isinstance(polls[node.address], LavalinkNodeStats)  # not held up by the silent one
    assert 0.3 <= elapsed_s < 2.0


async def test_poll_lavalink_nodes_returns_nothing_when_there_are_no_nodes(
    http: aiohttp.ClientSession,
) -> None:
    assert await poll_lavalink_nodes(http, [], password=_PASSWORD) == {}


async def test_node_watch_logs_once_per_state_change_when_a_node_stays_down(
    http: aiohttp.ClientSession,
    start_node: Callable[[_StandIn], Awaitable[_StandIn]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = await start_node(_StandIn(body=b"garbage"))
    metrics = OperatorMetrics()
    watch = NodeWatch(metrics)
    caplog.set_level(logging.INFO, logger=_NODE_LOG)
    for _ in range(3):
        polls = await poll_lavalink_nodes(http, [node.address], password=_PASSWORD)
        watch.observe("bots", "mybot", {"mybot-lavalink-0": polls[node.address]})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "Lavalink node mybot-lavalink-0 is down: GET /v4/stats answered something that is not JSON"
    ]
    labels = {"namespace": "bots", "bot": "mybot", "node": "mybot-lavalink-0"}
    assert metrics.registry.get_sample_value("shoal_operator_lavalink_node_up", labels) == 0.0
    node.body = orjson.dumps(_STATS)
    caplog.clear()
    for _ in range(2):
        polls = await poll_lavalink_nodes(http, [node.address], password=_PASSWORD)
        watch.observe("bots", "mybot", {"mybot-lavalink-0": polls[node.address]})
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "Lavalink node mybot-lavalink-0 answers again")
    ]
    assert metrics.registry.get_sample_value("shoal_operator_lavalink_node_up", labels) == 1.0
    assert metrics.registry.get_sample_value("shoal_operator_lavalink_playing_players", labels) == 3
