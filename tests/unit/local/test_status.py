"""Readings of the simulator and the registry, rates, and the status as text."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.local.status import (
    GenerationRow,
    RegistrySummary,
    SimSample,
    StatusRow,
    as_seen_at,
    format_line,
    format_table,
    generation_rows,
    headline,
    rate_per_s,
    redraw,
    registry_summary,
    sim_sample,
    status_row,
)
from shoal.storage.shard_registry import RegistryEntry


def _stats(**overrides: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    stats: dict[str, Any] = {
        "sessions_by_shard": {"0/4": 1},
        "dispatches": 1_000,
        "identifies": 4,
        "resumes": 2,
        "invalid_sessions": 1,
        "interactions": {
            "answered": 30,
            "latency_ms": {"count": 30.0, "p50": 4.25, "p90": 8.0, "p99": 12.5, "max": 13.0},
        },
    }
    stats.update(overrides)
    return stats


def _session(shard_id: int, shard_count: int, *, is_connected: bool = True) -> dict[str, Any]:
    return {"id": "x", "shard": [shard_id, shard_count], "is_connected": is_connected}


def _sample(at_s: float, dispatches: int, **overrides: Any) -> SimSample:  # noqa: ANN401
    values: dict[str, Any] = {
        "at_s": at_s,
        "shards_ready": 4,
        "dispatches": dispatches,
        "identifies": 4,
        "resumes": 0,
        "invalid_sessions": 0,
        "commands_answered": 12,
        "latency_p50_ms": 3.0,
        "latency_p99_ms": 9.0,
    }
    values.update(overrides)
    return SimSample(**values)


def _row(**overrides: Any) -> StatusRow:  # noqa: ANN401 - the row's fields
    values: dict[str, Any] = {
        "uptime_s": 3_725.0,
        "shards_total": 24,
        "workers_running": 6,
        "workers_total": 6,
        "guilds": 20_000,
        "sim": _sample(10.0, 5_000, shards_ready=24, identifies=24),
        "events_per_s": 25.04,
        "registry": None,
    }
    values.update(overrides)
    return StatusRow(**values)


def test_sim_sample_counts_connected_sessions_of_the_fleets_shard_count_when_read() -> None:
    sessions = [
        _session(0, 4),
        _session(1, 4),
        _session(1, 4),  # a second session of one shard counts once
        _session(2, 4, is_connected=False),  # resumable, but not connected
        _session(3, 8),  # another shard count
    ]

    sample = sim_sample(_stats(), sessions, shard_count=4, at_s=7.5)

    assert sample == SimSample(
        at_s=7.5,
        shards_ready=2,
        dispatches=1_000,
        identifies=4,
        resumes=2,
        invalid_sessions=1,
        commands_answered=30,
        latency_p50_ms=4.25,
        latency_p99_ms=12.5,
        ready_by_count={4: 2, 8: 1},  # a reshard's two generations, each by its count
    )


def test_sim_sample_has_no_latency_when_no_interaction_was_answered() -> None:
    quiet = {"answered": 0, "latency_ms": {"count": 0.0, "p50": None, "p99": None}}

    sample = sim_sample(_stats(interactions=quiet), [], shard_count=4, at_s=0.0)

    assert (sample.latency_p50_ms, sample.latency_p99_ms, sample.shards_ready) == (None, None, 0)


def _entry(shard_id: int, state: str, guilds: int, **overrides: Any) -> RegistryEntry:  # noqa: ANN401
    values: dict[str, Any] = {
        "generation": 0,
        "shard_id": shard_id,
        "shard_count": 4,
        "state": state,
        "guild_count": guilds,
        "latency_ms": 40.0,
        "pod": "local-0",
        "updated_at": 1_700_000_000.0,
    }
    values.update(overrides)
    return RegistryEntry(**values)


def test_registry_summary_totals_the_fleets_ready_shards_and_guilds_when_entries_exist() -> None:
    entries = [
        _entry(0, "ready", 1_000),
        _entry(1, "ready", 900),
        _entry(2, "connecting", 0),
        _entry(3, "ready", 50, generation=1),  # another generation
        _entry(3, "ready", 50, shard_count=8),  # an earlier shard count
    ]

    summary = registry_summary(entries, generation=0, shard_count=4)

    assert summary == RegistrySummary(shards=3, shards_ready=2, guilds=1_900)


def test_registry_summary_is_none_when_none_of_the_fleets_shards_is_registered() -> None:
    assert registry_summary([], generation=0, shard_count=4) is None
    assert (
        registry_summary([_entry(0, "ready", 1, generation=2)], generation=0, shard_count=4) is None
    )


def test_registry_summary_does_not_count_a_stale_entry_when_seen_after_its_worker_froze() -> None:
    now = 1_700_000_000.0 + 6.0  # the entries were written 6 s ago: over 2.5 refreshes
    entries = [
        _entry(0, "ready", 1_000),
        _entry(1, "ready", 900, updated_at=now - 1.0),
        _entry(2, "connecting", 10),
    ]

    seen = as_seen_at(entries, now=now)

    assert [e.state for e in seen] == [
        "stale (ready 6 s ago)",
        "ready",
        "stale (connecting 6 s ago)",
    ]
    assert registry_summary(seen, generation=0, shard_count=4) == RegistrySummary(
        shards=3, shards_ready=1, guilds=1_910
    )
    rows = generation_rows([(0, 4, (1, 1)), (1, 8, (0, 1))], active=0, sim=None, entries=seen)
    assert rows[0].registry_ready == 1


@pytest.mark.parametrize(
    ("previous", "current", "rate"),
    [
        (_sample(10.0, 1_000), _sample(12.0, 1_050), 25.0),
        (None, _sample(12.0, 1_050), None),  # the first reading
        (_sample(10.0, 1_000), None, None),  # the simulator did not answer
        (_sample(10.0, 1_000), _sample(10.0, 1_050), None),  # no time passed
        (_sample(10.0, 1_000), _sample(11.0, 10), None),  # the stats were reset
    ],
)
def test_rate_per_s_is_the_dispatch_delta_over_time_when_both_readings_exist(
    previous: SimSample | None, current: SimSample | None, rate: float | None
) -> None:
    assert rate_per_s(previous, current) == rate


def test_status_row_carries_the_readings_and_the_rate_when_built() -> None:
    registry = RegistrySummary(shards=24, shards_ready=20, guilds=19_000)

    row = status_row(
        uptime_s=5.0,
        shards_total=24,
        workers=(5, 6),
        guilds=20_000,
        previous=_sample(1.0, 100),
        current=_sample(2.0, 150),
        registry=registry,
    )

    assert (row.workers_running, row.workers_total, row.events_per_s) == (5, 6, 50.0)
    assert row.registry is registry


def test_format_table_shows_every_reading_when_the_simulator_answers() -> None:
    registry = RegistrySummary(shards=24, shards_ready=23, guilds=19_500)

    lines = format_table(_row(registry=registry))

    assert lines == [
        "shoal local up: 24 shards in 6 workers, up 1:02:05",
        "  shards ready   24/24        registry 23/24",
        "  workers        6/6          running",
        "  guilds         20,000       registry 19,500",
        "  events/s       25.0",
        "  commands       12 answered  p50 3.0 ms  p99 9.0 ms",
        "  identifies     24           resumes 0  invalid sessions 0",
        "Ctrl-C stops the fleet.",
    ]


def test_format_table_shows_dashes_when_nothing_is_known_yet() -> None:
    lines = format_table(_row(sim=None, events_per_s=None, guilds=None))

    assert lines[1] == "  shards ready   -/24"
    assert lines[3] == "  guilds         -"
    assert lines[4] == "  events/s       -"
    assert not any("commands" in line for line in lines)  # against Discord: no such reading


def test_format_line_is_one_line_with_the_same_readings_when_not_on_a_terminal() -> None:
    line = format_line(_row(registry=RegistrySummary(shards=24, shards_ready=24, guilds=20_000)))

    assert line == (
        "1:02:05 shards 24/24 ready (registry 24/24) workers 6/6 guilds 20,000 events/s 25.0 "
        "p50 3.0 ms p99 9.0 ms identifies 24 resumes 0"
    )


def test_format_line_leaves_out_simulator_readings_when_there_is_none() -> None:
    line = format_line(_row(sim=None, events_per_s=None, guilds=None))

    assert line == "1:02:05 shards -/24 ready workers 6/6 guilds - events/s -"


def test_the_status_shows_restarts_and_dead_servers_once_there_are_any() -> None:
    row = _row(restarts=2, servers_down=("redis-server",))

    table = format_table(row)
    line = format_line(row)

    assert "  workers        6/6          running  restarts 2" in table
    assert "  servers        redis-server down" in table
    assert "workers 6/6 restarts 2 down redis-server guilds 20,000" in line
    assert headline(row) != headline(_row())


def test_headline_changes_when_readiness_or_workers_change_but_not_with_rates() -> None:
    row = _row()

    assert headline(row) == headline(_row(events_per_s=99.0, uptime_s=1.0))
    assert headline(row) != headline(_row(workers_running=5))
    assert headline(row) != headline(_row(sim=_sample(1.0, 1, shards_ready=23)))


def test_redraw_rewinds_over_the_previous_table_when_it_was_drawn() -> None:
    assert redraw(["a", "b"], 0) == "a\nb\n"
    assert redraw(["a"], 3) == "\x1b[3F\x1b[Ja\n"
    assert redraw([], 2) == "\x1b[2F\x1b[J"


def test_generation_rows_show_each_generation_when_a_reshard_runs_two() -> None:
    sim = _sample(1.0, 1, ready_by_count={24: 24, 28: 7})
    entries = [_entry(0, "ready", 800), _entry(1, "ready", 900, generation=1, shard_count=28)]

    rows = generation_rows([(0, 24, (6, 6)), (1, 28, (7, 7))], active=0, sim=sim, entries=entries)

    assert rows == (
        GenerationRow(
            generation=0,
            shards_total=24,
            is_active=True,
            shards_ready=24,
            registry_ready=0,  # the entry above is of 4 shards, not 24
            workers_running=6,
            workers_total=6,
        ),
        GenerationRow(
            generation=1,
            shards_total=28,
            is_active=False,
            shards_ready=7,
            registry_ready=1,
            workers_running=7,
            workers_total=7,
        ),
    )
    assert generation_rows([(0, 24, (6, 6))], active=0, sim=sim, entries=entries) == ()


def test_format_table_and_line_show_both_generations_when_a_reshard_runs() -> None:
    rows = (
        GenerationRow(
            generation=0,
            shards_total=24,
            is_active=False,
            shards_ready=24,
            registry_ready=24,
            workers_running=6,
            workers_total=6,
        ),
        GenerationRow(
            generation=1,
            shards_total=28,
            is_active=True,
            shards_ready=28,
            registry_ready=27,
            workers_running=7,
            workers_total=7,
        ),
    )
    row = _row(generations=rows)

    lines = format_table(row)

    assert lines[2:4] == [
        "  generation 0   24/24        registry 24/24  workers 6/6  passive",
        "  generation 1   28/28        registry 27/28  workers 7/7  active",
    ]
    assert (
        "[generation 0 24/24 ready (registry 24/24) workers 6/6 passive; "
        "generation 1 28/28 ready (registry 27/28) workers 7/7 active]"
    ) in format_line(row)
    assert headline(row) != headline(_row())
