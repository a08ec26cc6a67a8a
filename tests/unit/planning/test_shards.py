"""Shard ranges per pod and identify buckets."""

from __future__ import annotations

import pytest

from shoal.planning.shards import ShardRange, bucket_of, pods_needed, shard_range_for_pod


@pytest.mark.parametrize(
    ("total", "per_pod", "pods"), [(1, 1, 1), (16, 4, 4), (17, 4, 5), (64, 16, 4), (3, 8, 1)]
)
def test_pods_needed_covers_every_shard_when_counts_are_valid(
    total: int, per_pod: int, pods: int
) -> None:
    assert pods_needed(total, per_pod) == pods


@pytest.mark.parametrize(("total", "per_pod"), [(0, 4), (4, 0), (-1, 1)])
def test_pods_needed_raises_when_a_count_is_below_one(total: int, per_pod: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        pods_needed(total, per_pod)


def test_shard_range_for_pod_partitions_all_shards_when_pods_are_enumerated() -> None:
    total, per_pod = 18, 4
    ranges = [shard_range_for_pod(total, per_pod, ordinal) for ordinal in range(5)]
    assert [r.ids for r in ranges] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 10, 11],
        [12, 13, 14, 15],
        [16, 17],
    ]
    assert all(r.total == total for r in ranges)


def test_shard_range_for_pod_raises_naming_the_range_when_ordinal_is_too_large() -> None:
    with pytest.raises(ValueError, match=r"pods 0\.\.3"):
        shard_range_for_pod(16, 4, 4)


def test_shard_range_contains_only_its_ids_when_asked() -> None:
    shard_range = ShardRange(first=4, count=4, total=16)
    assert [i for i in range(16) if i in shard_range] == [4, 5, 6, 7]
    assert "4" not in shard_range


def test_shard_range_is_bucket_aligned_when_shards_per_pod_is_a_multiple_of_concurrency() -> None:
    max_concurrency = 4
    for ordinal in range(4):
        ids = shard_range_for_pod(32, 8, ordinal).ids
        buckets = [bucket_of(i, max_concurrency) for i in ids]
        assert buckets == [0, 1, 2, 3, 0, 1, 2, 3]


def test_bucket_of_raises_when_max_concurrency_is_zero() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        bucket_of(3, 0)
