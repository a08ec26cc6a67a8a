"""Which errors are fatal closes, and the record the operator reads."""

from __future__ import annotations

import hikari
import orjson
import pytest

from shoal.gateway.closing import FatalClose, fatal_close_of
from shoal.planning.closing import FATAL_REASONS


@pytest.mark.parametrize("code", [4004, 4010, 4011, 4012, 4013, 4014])
def test_fatal_close_of_names_the_code_and_reason_when_the_close_is_fatal(code: int) -> None:
    error = hikari.GatewayServerClosedConnectionError("closed", code, can_reconnect=False)
    assert fatal_close_of(error, shard_id=3, at=10.0) == FatalClose(
        code=code, reason=FATAL_REASONS[code], shard_id=3, at=10.0
    )


@pytest.mark.parametrize("code", [1000, 4000, 4001, 4003, 4005, 4007, 4009, None])
def test_fatal_close_of_is_none_when_reconnecting_can_help(code: int | None) -> None:
    error = hikari.GatewayServerClosedConnectionError("closed", code, can_reconnect=False)
    assert fatal_close_of(error, shard_id=3, at=10.0) is None


def test_fatal_close_of_is_authentication_failed_when_rest_answers_401() -> None:
    error = hikari.UnauthorizedError("http://sim/api/v10/gateway/bot", {}, b"{}")
    fatal = fatal_close_of(error, shard_id=None, at=10.0)
    assert fatal is not None
    assert fatal.code == 4004
    assert fatal.shard_id is None


def test_fatal_close_of_is_none_when_the_error_is_not_a_close() -> None:
    assert fatal_close_of(RuntimeError("boom"), shard_id=0, at=1.0) is None


def test_fatal_close_as_json_holds_what_the_operator_reads() -> None:
    fatal = FatalClose(code=4011, reason="sharding required", shard_id=2, at=12.5)
    assert orjson.loads(fatal.as_json()) == {
        "code": 4011,
        "reason": "sharding required",
        "shard": 2,
        "at": 12.5,
    }
