"""The readiness rule and the loop-stall rule behind /readyz and /livez."""

from __future__ import annotations

from shoal.observability.health import is_loop_stalled
from shoal.observability.shard_status import ShardStatus, readiness_of


def test_readiness_is_ready_when_every_local_shard_is_ready() -> None:
    readiness = readiness_of({4: ShardStatus.READY, 5: ShardStatus.READY})
    assert readiness.is_ready
    assert readiness.not_ready == {}


def test_readiness_names_the_shards_holding_it_back_when_some_are_not_ready() -> None:
    states = {
        7: ShardStatus.DISCONNECTED,
        4: ShardStatus.READY,
        5: ShardStatus.CONNECTING,
        6: ShardStatus.STOPPED,
    }
    readiness = readiness_of(states)
    assert not readiness.is_ready
    assert list(readiness.not_ready.items()) == [
        (5, ShardStatus.CONNECTING),
        (6, ShardStatus.STOPPED),
        (7, ShardStatus.DISCONNECTED),
    ]


def test_readiness_is_not_ready_when_there_are_no_shards_yet() -> None:
    assert not readiness_of({}).is_ready


def test_is_loop_stalled_only_when_the_last_tick_is_older_than_the_limit() -> None:
    assert not is_loop_stalled(last_tick_s=100.0, now_s=109.9, stall_after_s=10.0)
    assert not is_loop_stalled(last_tick_s=100.0, now_s=110.0, stall_after_s=10.0)
    assert is_loop_stalled(last_tick_s=100.0, now_s=110.1, stall_after_s=10.0)
