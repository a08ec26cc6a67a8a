"""A fleet of real hikari bot processes, each running a range of shards of one bot.

The processes share nothing but the simulator, as a Shoal fleet shares nothing but
Discord: each must receive exactly the guilds Discord routes to its shards.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from shoal_sim.discord.server import running_simulator
from tests.integration.sim.gateway.shard_processes import shard_processes
from tests.integration.sim.gateway.worlds import app_of, guilds_on_shard, small_world

if TYPE_CHECKING:
    import pathlib


async def test_fleet_processes_receive_exactly_their_guilds_when_each_runs_a_shard_range(
    tmp_path: pathlib.Path,
) -> None:
    settings = small_world(guilds=30, max_concurrency=2, identify_window_s=0.2)
    ranges = ([0, 1], [2, 3], [4, 5])
    async with (
        running_simulator(settings) as sim,
        shard_processes(
            sim,
            token=app_of(sim).token,
            ranges=ranges,
            shard_count=6,
            log_dir=tmp_path,
            uncompressed=[1],  # hikari's plain-JSON transport, beside two zlib-stream ones
        ) as processes,
    ):
        for process in processes:
            # One identify per bucket per window: release the next range once the window
            # that this range's identifies opened has passed.
            process.release()
            await process.settled()
            await asyncio.sleep(settings.identify_window_s)
        exit_codes = await asyncio.gather(*(process.stop() for process in processes))

    assert exit_codes == [0, 0, 0]
    for process, shard_ids in zip(processes, ranges, strict=True):
        seen = process.guilds_by_shard()
        assert sorted(seen) == shard_ids
        for shard_id in shard_ids:
            expected = guilds_on_shard(sim, shard_id, 6)
            assert len(expected) == 5
            assert sorted(seen[shard_id]) == sorted(expected)  # each exactly once
            assert process.ready_guilds_by_shard()[shard_id] == expected
        assert [r for r in process.reports if r["event"] == "loop_error"] == []
        assert process.reports[-1] == {"event": "stopped"}
    assert dict(sim.stats.identifies_by_shard) == {f"{s}/6": 1 for s in range(6)}
    assert sim.stats.invalid_sessions == 0
    assert sim.stats.close_codes == {}
