"""The simulator's IDENTIFY rules as pure functions: payload shape, shard pair, buckets."""

from __future__ import annotations

from typing import Any

import pytest

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.gateway.closing import CloseCode
from shoal_sim.discord.gateway.identifying import (
    IdentifyLimits,
    IdentifyOutcome,
    IdentifyRequest,
    Verdict,
    bucket_of,
    is_bucket_free,
    judge_shape,
    judge_shard,
)

_LIMITS = IdentifyLimits(
    privileged_intents=intent_bits.GUILD_MEMBERS,
    max_guilds_per_shard=5,
    shard_count_multiple=1,
    max_concurrency=1,
    identify_window_s=5.0,
)
_TOKEN = "t"  # noqa: S105 - the rules only check that a token is a string
_PROPERTIES = {"os": "linux", "browser": "tests", "device": "tests"}


def _request(shard_id: int = 0, shard_count: int = 1, intents: int = 1) -> IdentifyRequest:
    return IdentifyRequest(
        token=_TOKEN, shard_id=shard_id, shard_count=shard_count, intents=intents
    )


def _code(outcome: IdentifyRequest | IdentifyOutcome | None) -> CloseCode | None:
    assert isinstance(outcome, IdentifyOutcome)
    assert outcome.verdict is Verdict.CLOSE
    return outcome.close_code


def test_judge_shape_returns_the_request_when_the_payload_is_complete() -> None:
    payload = {"token": _TOKEN, "properties": _PROPERTIES, "shard": [3, 8], "intents": 513}
    assert judge_shape(payload) == IdentifyRequest(
        token=_TOKEN, shard_id=3, shard_count=8, intents=513
    )


def test_judge_shape_defaults_to_one_shard_when_the_shard_is_left_out() -> None:
    request = judge_shape({"token": _TOKEN, "properties": _PROPERTIES, "intents": 0})
    assert isinstance(request, IdentifyRequest)
    assert (request.shard_id, request.shard_count) == (0, 1)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "identify",
        {"properties": _PROPERTIES, "intents": 1},
        {"token": _TOKEN, "intents": 1},
    ],
    ids=["null", "list", "string", "no-token", "no-properties"],
)
def test_judge_shape_gives_4002_when_the_payload_is_malformed(payload: Any) -> None:  # noqa: ANN401
    assert _code(judge_shape(payload)) is CloseCode.DECODE_ERROR


@pytest.mark.parametrize(
    "shard",
    [[0], [0, 1, 2], "0,1", [0, "1"], [True, 1], [0, 1.0]],
    ids=["one-item", "three-items", "string", "string-count", "bool-id", "float-count"],
)
def test_judge_shape_gives_4010_when_the_shard_is_not_two_integers(shard: Any) -> None:  # noqa: ANN401
    payload = {"token": _TOKEN, "properties": _PROPERTIES, "shard": shard, "intents": 1}
    assert _code(judge_shape(payload)) is CloseCode.INVALID_SHARD


@pytest.mark.parametrize(
    "intents", [None, "1", True, 1.5], ids=["missing", "string", "bool", "float"]
)
def test_judge_shape_gives_4013_when_intents_are_not_an_integer(intents: Any) -> None:  # noqa: ANN401
    payload: dict[str, Any] = {"token": _TOKEN, "properties": _PROPERTIES}
    if intents is not None:
        payload["intents"] = intents
    assert _code(judge_shape(payload)) is CloseCode.INVALID_INTENTS


def test_judge_shard_passes_when_everything_is_within_limits() -> None:
    assert (
        judge_shard(_request(1, 2, intent_bits.GUILD_MEMBERS), _LIMITS, guilds_on_shard=5) is None
    )


@pytest.mark.parametrize(
    ("shard_id", "shard_count"),
    [(1, 1), (0, 0), (-1, 2), (5, 3)],
    ids=["id-equals-count", "count-zero", "negative-id", "id-above-count"],
)
def test_judge_shard_gives_4010_when_the_pair_is_impossible(
    shard_id: int, shard_count: int
) -> None:
    outcome = judge_shard(_request(shard_id, shard_count), _LIMITS, guilds_on_shard=0)
    assert _code(outcome) is CloseCode.INVALID_SHARD


@pytest.mark.parametrize(
    ("shard_count", "is_valid"), [(16, True), (32, True), (8, False), (24, False)]
)
def test_judge_shard_checks_the_multiple_when_the_bot_is_large(
    shard_count: int, *, is_valid: bool
) -> None:
    limits = IdentifyLimits(
        privileged_intents=0,
        max_guilds_per_shard=2500,
        shard_count_multiple=16,
        max_concurrency=16,
        identify_window_s=5.0,
    )
    outcome = judge_shard(_request(0, shard_count), limits, guilds_on_shard=0)
    assert (outcome is None) == is_valid
    if not is_valid:
        assert _code(outcome) is CloseCode.INVALID_SHARD


@pytest.mark.parametrize("intents", [1 << 17, 1 << 18, 1 << 19, 1 << 22, 1 << 26, -1])
def test_judge_shard_gives_4013_when_an_intent_bit_is_unknown(intents: int) -> None:
    assert _code(judge_shard(_request(intents=intents), _LIMITS, 0)) is CloseCode.INVALID_INTENTS


@pytest.mark.parametrize(
    "intents",
    [1 << 16, 1 << 20, 1 << 21, 1 << 24, 1 << 25],
    ids=["scheduled-events", "automod-config", "automod-exec", "guild-polls", "dm-polls"],
)
def test_judge_shard_accepts_defined_intents_when_they_are_not_privileged(intents: int) -> None:
    assert judge_shard(_request(intents=intents), _LIMITS, 0) is None


@pytest.mark.parametrize("privileged", [intent_bits.GUILD_PRESENCES, intent_bits.MESSAGE_CONTENT])
def test_judge_shard_gives_4014_when_a_privileged_intent_is_not_approved(privileged: int) -> None:
    outcome = judge_shard(_request(intents=privileged | intent_bits.GUILD_MEMBERS), _LIMITS, 0)
    assert _code(outcome) is CloseCode.DISALLOWED_INTENTS


def test_judge_shard_gives_4011_when_the_shard_would_hold_too_many_guilds() -> None:
    assert _code(judge_shard(_request(), _LIMITS, 6)) is CloseCode.SHARDING_REQUIRED


def test_judge_shard_reports_the_shard_first_when_several_rules_fail() -> None:
    outcome = judge_shard(_request(2, 2, intents=-1), _LIMITS, guilds_on_shard=99)
    assert _code(outcome) is CloseCode.INVALID_SHARD


@pytest.mark.parametrize(
    ("shard_id", "max_concurrency", "bucket"),
    [(0, 1, 0), (7, 1, 0), (0, 16, 0), (15, 16, 15), (16, 16, 0), (35, 16, 3)],
)
def test_bucket_of_is_the_shard_id_modulo_max_concurrency_when_computed(
    shard_id: int, max_concurrency: int, bucket: int
) -> None:
    assert bucket_of(shard_id, max_concurrency) == bucket


@pytest.mark.parametrize(
    ("last_identify_at", "now", "is_free"),
    [(None, 0.0, True), (10.0, 10.0, False), (10.0, 14.999, False), (10.0, 15.0, True)],
    ids=["never-used", "same-instant", "inside-window", "window-over"],
)
def test_is_bucket_free_opens_after_the_window_when_the_bucket_was_used(
    last_identify_at: float | None, now: float, *, is_free: bool
) -> None:
    assert is_bucket_free(last_identify_at, now, window_s=5.0) is is_free
