"""The status board: a table redrawn in place on a terminal, plain lines now and then elsewhere."""

from __future__ import annotations

import io

from shoal.local.status import RegistrySummary, StatusRow, format_line, format_table
from shoal.local.watching import StatusBoard


def _row(*, ready: int | None = None, workers: int = 2, uptime_s: float = 0.0) -> StatusRow:
    return StatusRow(
        uptime_s=uptime_s,
        shards_total=4,
        workers_running=workers,
        workers_total=2,
        guilds=200,
        sim=None,
        events_per_s=None,
        registry=None
        if ready is None
        else RegistrySummary(shards=4, shards_ready=ready, guilds=200),
    )


def test_status_board_redraws_the_table_in_place_when_live() -> None:
    stream = io.StringIO()
    board = StatusBoard(stream, is_live=True)
    first, second = _row(uptime_s=1.0), _row(uptime_s=2.0)

    board.show(first, 1.0)
    board.show(second, 2.0)

    height = len(format_table(first))
    table = "".join(f"{line}\n" for line in format_table(second))
    assert stream.getvalue().endswith(f"\x1b[{height}F\x1b[J{table}")


def test_status_board_writes_messages_above_the_table_when_live() -> None:
    stream = io.StringIO()
    board = StatusBoard(stream, is_live=True)
    board.show(_row(), 0.0)
    drawn = stream.getvalue()

    board.say("Worker local-1 exited")
    board.show(_row(), 1.0)

    height = len(format_table(_row()))
    after = stream.getvalue()[len(drawn) :]
    assert after.startswith(f"\x1b[{height}F\x1b[JWorker local-1 exited\n")
    assert after.endswith(drawn)  # drawn again below the message, not rewound over it


def test_status_board_prints_plain_lines_on_change_or_every_ten_seconds_when_not_live() -> None:
    stream = io.StringIO()
    board = StatusBoard(stream, is_live=False)

    board.show(_row(uptime_s=0.0), 0.0)  # first: printed
    board.show(_row(uptime_s=1.0), 1.0)  # nothing changed: quiet
    board.show(_row(ready=4, uptime_s=2.0), 2.0)  # the registry filled: printed
    board.show(_row(ready=4, uptime_s=3.0), 3.0)
    board.show(_row(ready=4, uptime_s=12.0), 12.0)  # ten seconds later: printed

    assert stream.getvalue().splitlines() == [
        format_line(_row(uptime_s=0.0)),
        format_line(_row(ready=4, uptime_s=2.0)),
        format_line(_row(ready=4, uptime_s=12.0)),
    ]
    assert "\x1b" not in stream.getvalue()


def test_status_board_keeps_the_last_table_when_asked_before_shutdown_messages() -> None:
    stream = io.StringIO()
    board = StatusBoard(stream, is_live=True)
    board.show(_row(), 0.0)
    drawn = stream.getvalue()

    board.keep()
    board.say("Stopping 2 workers...")

    assert stream.getvalue() == f"{drawn}Stopping 2 workers...\n"
