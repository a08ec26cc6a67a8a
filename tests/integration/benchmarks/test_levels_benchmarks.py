"""Smoke tests: the levels benchmarks run at tiny sizes, print their figures, check XP.

The figures themselves are not asserted (benchmarks report, tests check): only that each
benchmark completes with a zero exit status (its correctness checks passed: every
interaction answered right, XP in PostgreSQL exact, every card a PNG) and prints the
lines its README entry quotes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shoal_sim.benchmarks import leaderboard_latency, levels_commits, rank_card

if TYPE_CHECKING:
    import pytest


def test_leaderboard_latency_answers_every_page_when_a_small_board_is_filled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exit_code = leaderboard_latency.main(
        ["--members", "300", "--commands", "6", "--clicks", "6", "--rate", "50"]
    )

    printed = capsys.readouterr().out
    assert exit_code == 0, printed
    assert "PostgreSQL held 300 rows" in printed, printed
    assert "300 rows / 3,000 XP in PostgreSQL, expected 300 / 3,000 (exact;" in printed, printed
    assert re.search(r"all\s+12\s+12\s+[\d.]+\s+[\d.]+\s+[\d.]+", printed), printed
    assert "wrong or missing answers: 0" in printed, printed


def test_levels_commits_prints_commits_per_message_when_a_short_stream_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exit_code = levels_commits.main(
        [
            *("--rate", "300", "--duration", "2", "--guilds", "3"),
            *("--members-per-guild", "100", "--shards", "1", "--settle", "1"),
        ]
    )

    printed = capsys.readouterr().out
    assert exit_code == 0, printed
    assert re.search(r"commits per message\s+[\d.]+\s+<= 0.01", printed), printed
    assert "messages received by the worker: 603 of 603" in printed, printed
    assert "300 rows / 3,000 XP in PostgreSQL, expected 300 / 3,000 (exact;" in printed, printed


def test_rank_card_receives_every_png_when_a_few_members_ask(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exit_code = rank_card.main(["--cards", "4", "--rate", "20"])

    printed = capsys.readouterr().out
    assert exit_code == 0, printed
    assert re.search(r"ms to the message with the card\s+[\d.]+\s+[\d.]+", printed), printed
    assert re.search(r"PNG bytes\s+[\d,]+\s+[\d,]+\s+[\d,]+", printed), printed
    assert "cards received: 4 of 4; worker renders: rendered 4," in printed, printed
