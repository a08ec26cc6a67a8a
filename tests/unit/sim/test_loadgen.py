"""The load generator's pure parts: the Zipf guild picker and the load spec's checks."""

from __future__ import annotations

import collections
import dataclasses
import random
from typing import Any

import pytest

from shoal_sim.discord.loadgen import LoadSpec, ZipfPicker

_PICKS = 20_000


def _seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - load shape, not secrets


def _counts(n: int, s: float, seed: int) -> list[int]:
    picker = ZipfPicker(n, s, _seeded(seed))
    counted = collections.Counter(picker.pick() for _ in range(_PICKS))
    return [counted[index] for index in range(n)]


def test_zipf_picker_is_uniform_when_the_exponent_is_zero() -> None:
    counts = _counts(10, 0.0, seed=1)
    expected = _PICKS / 10
    assert all(0.9 * expected < count < 1.1 * expected for count in counts), counts


def test_zipf_picker_favours_the_first_ranks_when_the_exponent_is_above_one() -> None:
    counts = _counts(100, 1.2, seed=1)
    assert counts[:5] == sorted(counts[:5], reverse=True), counts[:5]
    assert len(set(counts[:5])) == 5
    assert counts[0] == max(counts)
    # 1 / H(100, 1.2) ~ 0.23 of the picks go to rank 0; uniform would give 0.01.
    assert counts[0] > 0.18 * _PICKS
    assert counts[0] > 20 * counts[50]


def test_zipf_picker_stays_in_range_when_picking() -> None:
    counts = _counts(3, 2.0, seed=9)
    assert sum(counts) == _PICKS
    assert all(count > 0 for count in counts)


def test_zipf_picker_repeats_its_picks_when_the_seed_is_the_same() -> None:
    first = ZipfPicker(50, 1.1, _seeded(5))
    second = ZipfPicker(50, 1.1, _seeded(5))
    other = ZipfPicker(50, 1.1, _seeded(6))
    picks = [first.pick() for _ in range(500)]
    assert picks == [second.pick() for _ in range(500)]
    assert picks != [other.pick() for _ in range(500)]


def test_zipf_picker_always_picks_zero_when_there_is_one_item() -> None:
    picker = ZipfPicker(1, 1.1, _seeded(1))
    assert {picker.pick() for _ in range(100)} == {0}


def test_zipf_picker_refuses_when_there_are_no_items() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        ZipfPicker(0, 1.1, _seeded(1))


def test_load_spec_accepts_the_defaults_when_nothing_is_given() -> None:
    spec = LoadSpec()
    assert spec.messages_per_s == spec.interactions_per_s == 0.0
    assert spec.commands == ("ping",)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("messages_per_s", -1.0),
        ("interactions_per_s", -0.5),
        ("zipf_s", -1.0),
        ("messages_per_s", float("nan")),
        ("interactions_per_s", float("inf")),
        ("zipf_s", float("inf")),
        ("duration_s", 0.0),
        ("duration_s", -3.0),
        ("duration_s", float("nan")),
        ("duration_s", float("inf")),
    ],
)
def test_load_spec_names_the_field_when_a_number_is_bad(field: str, value: float) -> None:
    changes: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(LoadSpec(), **changes)


def test_load_spec_names_commands_when_none_are_given() -> None:
    with pytest.raises(ValueError, match="commands"):
        LoadSpec(commands=())
