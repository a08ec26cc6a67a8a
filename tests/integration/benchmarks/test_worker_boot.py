"""Smoke test: the worker boot benchmark runs a tiny fleet and prints its figures.

The figures themselves are not asserted (benchmarks report, tests check): only that the
benchmark completes, both phases are printed with a ratio to the bound, and the fleet
booted with one IDENTIFY per shard and restarted with one RESUME per shard.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shoal_sim.benchmarks import worker_boot

if TYPE_CHECKING:
    import pytest


def test_worker_boot_prints_both_phases_when_a_small_fleet_boots(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exit_code = worker_boot.main(
        ["--shards", "4", "--workers", "2", "--guilds", "40", "--window", "0.3"]
    )

    printed = capsys.readouterr().out
    assert exit_code == 0, printed
    assert "bound: ceil(4/16) x 0.3 s = 0.30 s" in printed
    assert re.search(r"cold boot\s+[\d.]+\s+[\d.]+x\s+4\s+0\s+0", printed), printed
    assert re.search(r"restart\s+[\d.]+\s+[\d.]+x\s+0\s+4\s+0", printed), printed
