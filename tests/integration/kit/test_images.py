"""The image pool with real worker processes: parallel, cached, bounded, and self-healing."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from prometheus_client import CollectorRegistry

from shoal.features.levels.card import RankCard, render_rank_card, warm_up_rank_cards
from shoal.kit.images import (
    ImagePool,
    ImagePoolSettings,
    ImageRenderError,
    ImageRenderTimeoutError,
    ImageWorkerCrashedError,
)
from tests.integration.kit.image_functions import crash, fail, not_bytes, png_after

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

_ROOT = Path(__file__).resolve().parents[3]
#: Long enough for a replacement pool to start on a loaded machine (waiting for one counts
#: against the deadline), short enough for the timeout tests.
_DEADLINE_S = 1.5
#: How long a killed worker may take to disappear (the pool reaps it in a thread).
_REAP_TIMEOUT_S = 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class _Pool:
    pool: ImagePool
    registry: CollectorRegistry
    log: Path

    def renders(self, kind: str, outcome: str) -> float:
        labels = {"kind": kind, "outcome": outcome}
        return self.registry.get_sample_value("shoal_image_renders_total", labels) or 0.0

    def replacements(self, reason: str) -> float:
        labels = {"reason": reason}
        value = self.registry.get_sample_value("shoal_image_pool_replacements_total", labels)
        return value or 0.0

    def pids(self) -> list[int]:
        if not self.log.exists():
            return []
        return [int(line) for line in self.log.read_text(encoding="utf-8").split()]


@contextlib.asynccontextmanager
async def _started(tmp_path: Path, **changes: object) -> AsyncIterator[_Pool]:
    registry = CollectorRegistry()
    settings = dataclasses.replace(
        ImagePoolSettings(workers=2, deadline_s=_DEADLINE_S),
        **changes,  # type: ignore[arg-type]
    )
    pool = ImagePool(registry, settings)
    await pool.start()
    try:
        yield _Pool(pool, registry, tmp_path / "renders.log")
    finally:
        await pool.close()


@pytest.fixture
async def images(tmp_path: Path) -> AsyncIterator[_Pool]:
    async with _started(tmp_path) as started:
        yield started


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _until_gone(pid: int) -> None:
    async with asyncio.timeout(_REAP_TIMEOUT_S):
        while _is_alive(pid):  # noqa: ASYNC110 -- nothing signals another process's exit
            await asyncio.sleep(0.05)


async def test_image_pool_renders_on_every_worker_when_renders_overlap(images: _Pool) -> None:
    log = str(images.log)
    results = await asyncio.gather(
        *(images.pool.render("test", f"k{n}", png_after, log, 0.3, f"k{n}") for n in range(4))
    )
    assert results == [f"PNG k{n}".encode() for n in range(4)]
    pids = images.pids()
    assert len(pids) == 4
    assert len(set(pids)) == 2  # both workers rendered: neither waited for the other
    assert os.getpid() not in pids  # and not on the event loop's process
    assert images.renders("test", "rendered") == 4.0
    count = images.registry.get_sample_value("shoal_image_render_seconds_count", {"kind": "test"})
    assert count == 4.0


async def test_image_pool_shares_one_render_when_the_same_key_is_asked_at_once(
    images: _Pool,
) -> None:
    log = str(images.log)
    results = await asyncio.gather(
        *(images.pool.render("test", "same", png_after, log, 0.3, "same") for _ in range(5))
    )
    assert set(results) == {b"PNG same"}
    assert len(images.pids()) == 1
    assert images.renders("test", "rendered") == 1.0
    assert images.renders("test", "cached") == 4.0


async def test_image_pool_answers_from_the_cache_when_a_key_was_rendered(images: _Pool) -> None:
    log = str(images.log)
    first = await images.pool.render("test", "k", png_after, log, 0.0, "first")
    again = await images.pool.render("test", "k", png_after, log, 0.0, "second")
    other_kind = await images.pool.render("other", "k", png_after, log, 0.0, "third")
    assert (first, again, other_kind) == (b"PNG first", b"PNG first", b"PNG third")
    assert len(images.pids()) == 2
    assert images.renders("test", "cached") == 1.0


async def test_image_pool_renders_again_when_the_cache_dropped_the_image(tmp_path: Path) -> None:
    async with _started(tmp_path, cache_bytes=len(b"PNG a")) as images:
        log = str(images.log)
        await images.pool.render("test", "a", png_after, log, 0.0, "a")
        await images.pool.render("test", "b", png_after, log, 0.0, "b")  # drops a
        await images.pool.render("test", "a", png_after, log, 0.0, "a")
        assert len(images.pids()) == 3


async def test_image_pool_times_out_and_kills_the_stuck_worker_when_a_render_hangs(
    images: _Pool,
) -> None:
    log = str(images.log)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ImageRenderTimeoutError, match=r"not rendered within 1\.5 s"):
        await images.pool.render("test", "stuck", png_after, log, 60.0, "stuck")
    assert loop.time() - started < _DEADLINE_S + 0.5
    (stuck_pid,) = images.pids()
    assert await images.pool.render("test", "next", png_after, log, 0.0, "next") == b"PNG next"
    await _until_gone(stuck_pid)
    assert stuck_pid not in images.pids()[1:]
    assert images.renders("test", "timeout") == 1.0
    assert images.replacements("timeout") == 1.0


async def test_image_pool_lets_other_renders_finish_when_it_replaces_a_stuck_worker(
    images: _Pool,
) -> None:
    log = str(images.log)
    stuck = asyncio.create_task(images.pool.render("test", "stuck", png_after, log, 60.0, "s"))
    await asyncio.sleep(0.7)  # the stuck render holds one worker
    # From 0.7 s to 1.8 s on the other worker: running when the stuck one times out at 1.5 s.
    slow = asyncio.create_task(images.pool.render("test", "slow", png_after, log, 1.1, "slow"))
    with pytest.raises(ImageRenderTimeoutError):
        await stuck
    assert await slow == b"PNG slow"  # it ran on the retired pool, and was let finish


async def test_image_pool_replaces_a_crashed_worker_when_a_render_kills_it(images: _Pool) -> None:
    log = str(images.log)
    with pytest.raises(ImageWorkerCrashedError, match="died"):
        await images.pool.render("test", "crash", crash, log)
    (dead_pid,) = images.pids()
    results = await asyncio.gather(
        *(images.pool.render("test", f"k{n}", png_after, log, 0.2, f"k{n}") for n in range(2))
    )
    assert results == [b"PNG k0", b"PNG k1"]
    assert dead_pid not in images.pids()[1:]
    assert len(set(images.pids()[1:])) == 2  # a full pool again
    assert images.renders("test", "failed") == 1.0
    assert images.replacements("crashed") == 1.0


async def test_image_pool_fails_without_replacing_workers_when_the_function_raises(
    images: _Pool,
) -> None:
    with pytest.raises(ImageRenderError, match="no image for x") as raised:
        await images.pool.render("test", "x", fail, "x")
    assert isinstance(raised.value.__cause__, ValueError)
    with pytest.raises(ImageRenderError, match="returned str"):
        await images.pool.render("test", "y", not_bytes)
    log = str(images.log)
    assert await images.pool.render("test", "x", png_after, log, 0.0, "x") == b"PNG x"
    assert images.renders("test", "failed") == 2.0
    assert images.replacements("crashed") == images.replacements("timeout") == 0.0


async def test_image_pool_times_out_when_no_worker_frees_up_within_the_deadline(
    tmp_path: Path,
) -> None:
    async with _started(tmp_path, workers=1) as images:
        log = str(images.log)
        # One worker, three 1 s renders at once: the second waits 1 s (within the 1.5 s
        # deadline), the third would wait 2 s.
        renders = [
            asyncio.create_task(images.pool.render("test", key, png_after, log, 1.0, key))
            for key in ("a", "b", "c")
        ]
        done = await asyncio.gather(*renders, return_exceptions=True)
        assert done[:2] == [b"PNG a", b"PNG b"]
        assert isinstance(done[2], ImageRenderTimeoutError)
        assert "no image worker was free within 1.5 s" in str(done[2])
        assert len(images.pids()) == 2  # the third never reached a worker
        assert images.replacements("timeout") == 0.0  # waiting is no reason to kill workers


async def test_image_pool_finishes_renders_under_way_when_closed(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    pool = ImagePool(registry, ImagePoolSettings(workers=1, deadline_s=_DEADLINE_S))
    await pool.start()
    log = str(tmp_path / "renders.log")
    render = asyncio.create_task(pool.render("test", "a", png_after, log, 0.3, "a"))
    await asyncio.sleep(0.1)
    await pool.close()
    assert await render == b"PNG a"
    with pytest.raises(ImageRenderError, match="closed"):
        await pool.render("test", "b", png_after, log, 0.0, "b")


async def test_image_pool_renders_rank_cards_when_warmed_up_for_them(tmp_path: Path) -> None:
    async with _started(
        tmp_path, preload=("shoal.features.levels.card",), warm_ups=(warm_up_rank_cards,)
    ) as images:
        card = RankCard(
            "Alice", None, level=3, rank=1, xp_into_level=5, xp_for_next_level=9, total_xp=50
        )
        data = await images.pool.render("rank_card", "alice", render_rank_card, card)
        assert data == render_rank_card(card)
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (934, 282)


async def test_image_workers_exit_when_the_process_that_owns_the_pool_is_killed() -> None:
    owner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.kit.image_pool_process",
        cwd=_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert owner.stdout is not None
        async with asyncio.timeout(20):
            line = await owner.stdout.readline()
        worker_pids = [int(pid) for pid in line.split()]
        assert len(set(worker_pids)) == 2
        assert all(_is_alive(pid) for pid in worker_pids)
    finally:
        owner.send_signal(signal.SIGKILL)  # no close(), no atexit: as the OOM killer would
        await owner.wait()
    for pid in worker_pids:
        await _until_gone(pid)
