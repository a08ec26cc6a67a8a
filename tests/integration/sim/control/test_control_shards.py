"""`/_sim/shards/{id}` forced gateway trouble; `/_sim/applications/{id}` tokens and starts."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import pytest

from shoal_sim.discord import intents
from shoal_sim.discord.settings import DEFAULT_TOKEN
from shoal_sim.discord.snowflakes import bot_id_from_token
from tests.integration.sim.rest.api import Api

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi

_OP_DISPATCH: Final = 0
_OP_IDENTIFY: Final = 2
_OP_RECONNECT: Final = 7
_OP_INVALID_SESSION: Final = 9
_WAIT_S: Final = 5.0
_APP_ID: Final = bot_id_from_token(DEFAULT_TOKEN)


@contextlib.asynccontextmanager
async def _identified(
    http: aiohttp.ClientSession, sim: Simulator
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A raw session of shard 0 of 1 after READY, to read non-dispatch ops and closes."""
    async with http.ws_connect(f"{sim.gateway.ws_url}?v=10&encoding=json") as ws:
        await ws.receive_json(timeout=_WAIT_S)  # HELLO
        await ws.send_json(
            {
                "op": _OP_IDENTIFY,
                "d": {
                    "token": DEFAULT_TOKEN,
                    "intents": intents.NONE,
                    "shard": [0, 1],
                    "properties": {"os": "linux", "browser": "shoal-tests", "device": "tests"},
                },
            }
        )
        ready = await ws.receive_json(timeout=_WAIT_S)
        assert (ready["op"], ready["t"]) == (_OP_DISPATCH, "READY"), ready
        yield ws


async def _next_op(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    payload: dict[str, Any] = await ws.receive_json(timeout=_WAIT_S)
    return payload


async def test_shard_gets_op_7_when_a_reconnect_is_forced(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    async with _identified(http, sim) as ws:
        forced = await control.call("POST", "/shards/0", json={"action": "reconnect"}, expect=200)
        assert (await _next_op(ws))["op"] == _OP_RECONNECT
    assert forced == {"sessions": 1}


@pytest.mark.parametrize(
    ("action", "is_resumable"), [("invalidate", False), ("invalidate-resumable", True)]
)
async def test_shard_gets_op_9_when_an_invalidation_is_forced(
    control: ControlApi,
    sim: Simulator,
    http: aiohttp.ClientSession,
    action: str,
    *,
    is_resumable: bool,
) -> None:
    async with _identified(http, sim) as ws:
        forced = await control.call("POST", "/shards/0", json={"action": action}, expect=200)
        invalid = await _next_op(ws)
        sessions = await control.call("GET", "/sessions", expect=200)
    assert forced == {"sessions": 1}
    assert invalid == {"op": _OP_INVALID_SESSION, "d": is_resumable, "s": None, "t": None}
    assert len(sessions) == (1 if is_resumable else 0)


async def test_shard_is_closed_with_the_code_when_a_close_is_forced(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    async with _identified(http, sim) as ws:
        await control.call("POST", "/shards/0", json={"action": "close", "code": 4000}, expect=200)
        closed = await ws.receive(timeout=_WAIT_S)
    assert closed.type == aiohttp.WSMsgType.CLOSE
    assert closed.data == 4000


async def test_shard_loses_its_connection_when_a_drop_is_forced(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    async with _identified(http, sim) as ws:
        await control.call("POST", "/shards/0", json={"action": "drop"}, expect=200)
        dropped = await ws.receive(timeout=_WAIT_S)
    assert dropped.type in {aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}


async def test_shard_force_touches_nothing_when_no_session_matches(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    async with _identified(http, sim):
        other_shard = await control.call(
            "POST", "/shards/1", json={"action": "reconnect"}, expect=200
        )
        other_count = await control.call(
            "POST", "/shards/0", json={"action": "reconnect", "shard_count": 2}, expect=200
        )
    assert other_shard == other_count == {"sessions": 0}


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/shards/0", {"action": "explode"}, "action must be one of"),
        ("/shards/0", {}, "action must be one of"),
        ("/shards/0", {"action": "close"}, "code"),
        ("/shards/0", {"action": "close", "code": 999}, "code"),
        ("/shards/0", {"action": "close", "code": 5000}, "code"),
        ("/shards/0", {"action": "close", "code": "soon"}, "code"),
        ("/shards/zero", {"action": "reconnect"}, "shard_id"),
        ("/shards/0", {"action": "reconnect", "shard_count": "two"}, "shard_count"),
        ("/shards/0", {"action": "reconnect", "application_id": "12345"}, "unknown application"),
    ],
)
async def test_shard_force_is_refused_when_the_request_is_bad(
    control: ControlApi, path: str, body: dict[str, object], named: str
) -> None:
    assert named in await control.error("POST", path, json=body)


async def test_token_reset_stops_the_old_token_when_a_new_one_is_issued(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    reset = await control.call("POST", f"/applications/{_APP_ID}/reset-token", expect=200)
    new_token = reset["token"]
    old_api, new_api = Api(http, sim), Api(http, sim, token=new_token)
    await old_api.call("GET", "/gateway/bot", expect=401)
    await new_api.call("GET", "/gateway/bot", expect=200)
    info = await control.call("GET", "/info", expect=200)
    assert new_token != DEFAULT_TOKEN
    assert bot_id_from_token(new_token) == _APP_ID
    assert info["applications"][0]["token"] == new_token


async def test_session_starts_are_set_when_the_budget_is_given(
    control: ControlApi, api: Api
) -> None:
    path = f"/applications/{_APP_ID}/session-starts"
    assert await control.call("POST", path, json={"remaining": 0}, expect=200) == {"remaining": 0}
    limit = (await api.call("GET", "/gateway/bot", expect=200)).body["session_start_limit"]
    assert limit["remaining"] == 0
    info = await control.call("GET", "/info", expect=200)
    assert info["applications"][0]["session_start_remaining"] == 0


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "remaining"),
        ({"remaining": -1}, "remaining"),
        ({"remaining": 1001}, "remaining"),
        ({"remaining": "all"}, "remaining"),
    ],
)
async def test_session_starts_are_refused_when_the_budget_is_bad(
    control: ControlApi, body: dict[str, object], named: str
) -> None:
    path = f"/applications/{_APP_ID}/session-starts"
    assert named in await control.error("POST", path, json=body)


@pytest.mark.parametrize("action", ["reset-token", "session-starts"])
async def test_application_is_404_when_the_id_is_unknown(control: ControlApi, action: str) -> None:
    body = {"remaining": 0}
    assert "unknown application" in await control.error(
        "POST", f"/applications/12345/{action}", json=body, expect=404
    )
    assert "application_id" in await control.error("POST", f"/applications/bot/{action}", json=body)
