"""The worker CPU benchmark's report over rounds: medians, and each round's ratio."""

from __future__ import annotations

import argparse

from shoal_sim.benchmarks.worker_cpu import _RUNS, Result, _is_correct, _report


def _round(cpu_by_run: tuple[float, ...]) -> list[Result]:
    return [
        Result(
            consumer=consumer,
            stream=stream,
            messages=1_000,
            cpu_s=cpu_s,
            counted=1_010,
            redis_cpu_s=0.0,
            elapsed_s=1.0,
            warm_up_cpu_s=0.0,
            guilds=10,
        )
        for (consumer, stream), cpu_s in zip(_RUNS, cpu_by_run, strict=True)
    ]


def test_the_report_gives_the_median_of_each_rounds_ratio_and_lists_them() -> None:
    # Per round: worker one, cached one, uncached one, worker every, uncached every.
    rounds = [
        _round((0.02, 0.2, 0.1, 0.03, 0.1)),  # every member: 0.30x
        _round((0.02, 0.2, 0.1, 0.06, 0.1)),  # 0.60x: a noisy round
        _round((0.02, 0.2, 0.1, 0.04, 0.1)),  # 0.40x
    ]
    args = argparse.Namespace(messages=1_000, shards=1, guilds=10, members_per_guild=5)
    printed = _report(rounds, args)
    assert "medians of 3 round(s)" in printed
    every = next(
        line for line in printed.splitlines() if "shoal worker" in line and "every" in line
    )
    assert "0.40x" in every
    assert "40.0" in every  # the median CPU: 0.04 s over 1,000 messages
    assert "worker / cache off, every member, by round: 0.30x  0.60x  0.40x" in printed
    assert "worker / cache off, one member per guild, by round: 0.20x  0.20x  0.20x" in printed
    assert _is_correct(rounds)
