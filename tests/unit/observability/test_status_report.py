"""The ``shoal status`` text."""

from __future__ import annotations

from shoal.observability.status_report import ShardRow, render_status


def _row(generation: int, shard_id: int, *, state: str = "ready", pod: str = "bot-0") -> ShardRow:
    return ShardRow(
        generation=generation,
        shard_id=shard_id,
        shard_count=2 if generation == 0 else 4,
        state=state,
        guild_count=10 + shard_id,
        latency_ms=None if state != "ready" else 41.6,
        pod=pod,
        age_s=1.2,
    )


def test_render_status_summarises_each_generation_when_two_run_side_by_side() -> None:
    rows = [_row(1, 3), _row(0, 1), _row(0, 0, state="connecting", pod="bot-1"), _row(1, 0)]
    text = render_status(rows, active_generation=0)
    lines = text.splitlines()
    assert lines[0] == "generation 0 (active): 1/2 shards ready, 21 guilds, 2 pods"
    assert lines[2].split()[:3] == ["0", "connecting", "10"]
    assert lines[3].split()[:4] == ["1", "ready", "11", "42"]
    assert "generation 1: 2/4 shards ready, 23 guilds, 1 pods" in lines


def test_render_status_says_why_it_is_empty_when_no_shard_is_registered() -> None:
    assert "no shard is registered" in render_status([], active_generation=None)


def test_render_status_shows_a_stale_entry_and_does_not_count_it_when_its_worker_stopped() -> None:
    fresh = _row(0, 0)
    stale = ShardRow(
        generation=0,
        shard_id=1,
        shard_count=2,
        state="ready",
        guild_count=11,
        latency_ms=41.6,
        pod="bot-1",
        age_s=17.2,
    )

    lines = render_status([fresh, stale], active_generation=0).splitlines()

    assert lines[0] == "generation 0 (active): 1/2 shards ready (1 stale), 21 guilds, 2 pods"
    assert lines[2].split()[:2] == ["0", "ready"]
    assert "  stale (ready 17 s ago) " in lines[3]
    assert lines[3].split()[-2:] == ["bot-1", "17s"]
