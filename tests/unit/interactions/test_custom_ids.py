"""Stateless custom_ids: what encode refuses and decode reads back."""

from __future__ import annotations

import pytest

from shoal.interactions.custom_ids import MAX_CUSTOM_ID, CustomId, decode, encode


def test_encode_and_decode_round_trip_a_prefix_version_and_arguments() -> None:
    custom_id = encode("rm", 2, 42, "abc")
    assert custom_id == "rm:2:42:abc"
    assert decode(custom_id) == CustomId(prefix="rm", version=2, args=("42", "abc"))
    assert decode("onb:1") == CustomId(prefix="onb", version=1)


@pytest.mark.parametrize(
    ("prefix", "version", "args", "match"),
    [
        ("Bad", 1, (), "prefix"),
        ("x" * 17, 1, (), "prefix"),
        ("rm", 0, (), "version"),
        ("rm", 1000, (), "version"),
        ("rm", 1, ("a:b",), "may not contain"),
        ("rm", 1, ("x" * 100,), "Discord allows 100"),
    ],
)
def test_encode_refuses_what_discord_or_the_router_could_not_take(
    prefix: str, version: int, args: tuple[str, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        encode(prefix, version, *args)


@pytest.mark.parametrize(
    "custom_id", ["", "legacy-view", "rm", "rm:", "rm:x", "rm:0", "RM:1", "rm:1000:1", "rm:²:1"]
)
def test_decode_returns_none_when_the_custom_id_is_not_one_of_shoals(custom_id: str) -> None:
    assert decode(custom_id) is None


def test_int_arg_reads_integers_and_nothing_else() -> None:
    parsed = decode("rm:1:42:-3:abc:²")
    assert parsed is not None
    assert [parsed.int_arg(i) for i in range(5)] == [42, -3, None, None, None]


def test_the_longest_accepted_custom_id_is_discords_limit() -> None:
    custom_id = encode("a", 1, "x" * (MAX_CUSTOM_ID - 4))
    assert len(custom_id) == MAX_CUSTOM_ID
