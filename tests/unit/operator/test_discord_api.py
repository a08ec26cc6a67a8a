"""Reading GET /gateway/bot: good bodies become GatewayInfo, bad ones DiscordApiError."""

from __future__ import annotations

import copy
from typing import Any, Final

import pytest

from shoal_operator.discord_api import DiscordApiError, GatewayInfo, parse_gateway_info

_GOOD: Final[dict[str, Any]] = {
    "url": "wss://gateway.discord.gg",
    "shards": 9,
    "session_start_limit": {
        "total": 1000,
        "remaining": 999,
        "reset_after": 14_400_000,
        "max_concurrency": 16,
    },
}


def _body(**changes: object) -> dict[str, Any]:
    """Return the good body with ``changes`` (``limit__key`` for session_start_limit)."""
    body = copy.deepcopy(_GOOD)
    for key, value in changes.items():
        target, name = (
            (body["session_start_limit"], key.removeprefix("limit__"))
            if key.startswith("limit__")
            else (body, key)
        )
        target[name] = value
    return body


def _without(key: str) -> dict[str, Any]:
    body = copy.deepcopy(_GOOD)
    if key.startswith("limit__"):
        del body["session_start_limit"][key.removeprefix("limit__")]
    else:
        del body[key]
    return body


def test_parse_gateway_info_reads_every_field_when_the_body_is_good() -> None:
    assert parse_gateway_info(_GOOD) == GatewayInfo(
        recommended_shards=9,
        max_concurrency=16,
        session_starts_total=1000,
        session_starts_remaining=999,
        reset_after_s=14_400.0,
    )


def test_parse_gateway_info_accepts_an_exhausted_budget_when_remaining_is_zero() -> None:
    info = parse_gateway_info(_body(limit__remaining=0, limit__reset_after=1))
    assert info.session_starts_remaining == 0
    assert info.reset_after_s == 0.001


def test_parse_gateway_info_ignores_extra_fields_when_discord_adds_some() -> None:
    assert parse_gateway_info(_body(new_field=[1, 2])).recommended_shards == 9


@pytest.mark.parametrize(
    "key",
    [
        "shards",
        "session_start_limit",
        "limit__total",
        "limit__remaining",
        "limit__reset_after",
        "limit__max_concurrency",
    ],
)
def test_parse_gateway_info_raises_when_a_key_is_missing(key: str) -> None:
    with pytest.raises(DiscordApiError, match="unexpected body") as caught:
        parse_gateway_info(_without(key))
    assert caught.value.status is None


@pytest.mark.parametrize(
    "changes",
    [
        {"shards": "9"},
        {"shards": 9.0},
        {"shards": None},
        {"shards": True},
        {"limit__max_concurrency": False},
        {"limit__total": "1000"},
        {"limit__remaining": [999]},
        {"limit__reset_after": 1.5},
        {"session_start_limit": None},
        {"session_start_limit": [1000, 999, 0, 1]},
        {"session_start_limit": "limited"},
    ],
    ids=repr,
)
def test_parse_gateway_info_raises_when_a_field_has_the_wrong_type(
    changes: dict[str, object],
) -> None:
    with pytest.raises(DiscordApiError, match="unexpected body"):
        parse_gateway_info(_body(**changes))


@pytest.mark.parametrize(
    "changes",
    [{"shards": 0}, {"shards": -1}, {"limit__max_concurrency": 0}],
    ids=repr,
)
def test_parse_gateway_info_raises_when_shards_or_concurrency_is_below_one(
    changes: dict[str, object],
) -> None:
    with pytest.raises(DiscordApiError, match="shards=") as caught:
        parse_gateway_info(_body(**changes))
    assert caught.value.status is None


def test_parse_gateway_info_raises_when_the_body_is_empty() -> None:
    with pytest.raises(DiscordApiError):
        parse_gateway_info({})
