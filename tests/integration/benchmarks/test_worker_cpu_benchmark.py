"""Smoke test: the worker CPU benchmark runs its five consumers and checks the XP granted.

The figures themselves are not asserted (benchmarks report, tests check): only that the
benchmark completes with a zero exit status (every MESSAGE_CREATE counted by the worker,
the granting run's XP exact in PostgreSQL) and prints a row per consumer and stream.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shoal_sim.benchmarks import worker_cpu

if TYPE_CHECKING:
    import pytest


def test_worker_cpu_prints_every_row_and_exact_xp_when_a_tiny_stream_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exit_code = worker_cpu.main(
        [
            *("--guilds", "10", "--members-per-guild", "5", "--shards", "1"),
            *("--messages", "300", "--rounds", "1"),
        ]
    )

    printed = capsys.readouterr().out
    assert exit_code == 0, printed
    for consumer, stream in [
        ("shoal worker", "one member per guild"),
        ("hikari, default cache", "one member per guild"),
        ("hikari, cache off", "one member per guild"),
        ("shoal worker", "every member"),
        ("hikari, cache off", "every member"),
    ]:
        assert re.search(rf"{consumer}\s+{stream}\s+[\d.]+\s+[\d.]+\s+[\d.]+x", printed), printed
    assert "; 1 round(s)" in printed, printed  # rounds' medians: tests/unit/benchmarks
    assert "MESSAGE_CREATE} 310 of 310" in printed, printed
    assert "50 rows / 500 XP in PostgreSQL, expected 50 / 500 (exact;" in printed, printed
