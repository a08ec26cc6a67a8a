"""The active-generation rule: what the operator's key means, and who processes events."""

from __future__ import annotations

import pytest

from shoal.planning.generations import (
    DEFAULT_ACTIVE_GENERATION,
    active_generation_of,
    is_generation_active,
)


def test_active_generation_of_is_generation_0_when_the_key_is_absent() -> None:
    assert active_generation_of(None) == DEFAULT_ACTIVE_GENERATION == 0


@pytest.mark.parametrize(("raw", "expected"), [(b"1", 1), ("7", 7), (b" 2\n", 2), (b"0", 0)])
def test_active_generation_of_reads_the_number_when_the_key_holds_one(
    raw: str | bytes, expected: int
) -> None:
    assert active_generation_of(raw) == expected


@pytest.mark.parametrize("raw", [b"", b"-1", b"1.0", "one", b"\xff", "\u0661"])
def test_active_generation_of_refuses_when_the_key_holds_no_generation(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        active_generation_of(raw)


@pytest.mark.parametrize(
    ("generation", "active", "expected"),
    [(0, 0, True), (1, 0, False), (1, 1, True), (0, 1, False), (0, None, False), (1, None, False)],
)
def test_is_generation_active_only_when_the_worker_is_the_active_generation(
    generation: int, *, active: int | None, expected: bool
) -> None:
    assert is_generation_active(generation, active) is expected
