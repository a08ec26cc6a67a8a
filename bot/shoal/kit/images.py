"""Images rendered off the event loop: a process pool, cached, time-bounded and measured.

Owns running features' CPU-bound image functions (a rank card, later charts) in worker
processes, caching what they render (:mod:`shoal.kit.image_cache`), sharing one render
between concurrent requests for the same image, the render deadline, replacing workers that
are stuck or died, and the ``shoal_image_*`` metrics. Does not own what is drawn (features'
pure renderers, e.g. :mod:`shoal.features.levels.card`), what goes into a key (the caller
puts every input that changes the picture in it), or what to answer without an image (the
caller catches :class:`ImageRenderError` and answers with text).

Workers start with ``forkserver`` (``spawn`` where it does not exist), never ``fork``: the
worker is a threaded asyncio process, and a forked child inherits locks other threads held.
They are started and warmed up in a thread, so neither the first render nor a replacement
pool blocks the loop. A process pool cannot cancel a call that is running, so a render past
its deadline retires the whole pool: new renders go to a fresh pool at once, and the old
pool's workers are killed once its other renders had their own deadline to finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import enum
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Final, TypeVarTuple

from prometheus_client import Counter, Histogram

from shoal.kit.image_cache import CacheKey, ImageCache
from shoal.observability.metrics import NAMESPACE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from prometheus_client import CollectorRegistry

__all__ = [
    "ImageMetrics",
    "ImageOutcome",
    "ImagePool",
    "ImagePoolSettings",
    "ImageRenderError",
    "ImageRenderTimeoutError",
    "ImageWorkerCrashedError",
]

_log = logging.getLogger(__name__)

Ts = TypeVarTuple("Ts")

#: From a cached-font card (5 ms) to the 2 s deadline.
_RENDER_BUCKETS_S: Final = (0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0)
#: Starting a worker and importing Pillow takes well under a second; a pool that is not up
#: in this long will not come up, and its renders fail instead of waiting for ever.
_WARM_UP_TIMEOUT_S: Final = 30.0
_DEFAULT_PRELOAD: Final = ("PIL.Image", "PIL.ImageDraw", "PIL.ImageFont", "PIL.PngImagePlugin")
_START_METHODS: Final = ("forkserver", "spawn")


class ImageRenderError(Exception):
    """No image: the caller answers with text only. The message says why."""


class ImageRenderTimeoutError(ImageRenderError):
    """The render (or the wait for a free worker) took longer than the deadline."""


class ImageWorkerCrashedError(ImageRenderError):
    """The worker process died while rendering; the pool has been replaced."""


class ImageOutcome(enum.StrEnum):
    """Values of the ``outcome`` label of ``shoal_image_renders_total`` (one per request)."""

    RENDERED = "rendered"
    """This request's image was rendered for it."""
    CACHED = "cached"
    """Served from the cache, or from a render another request had started."""
    TIMEOUT = "timeout"
    """No image within the deadline (rendering, or waiting for a free worker)."""
    FAILED = "failed"
    """The function raised or returned no bytes, its worker died, or the pool was closed."""


def _default_workers() -> int:
    return min(2, os.cpu_count() or 1)


def _default_start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


@dataclasses.dataclass(frozen=True, slots=True)
class ImagePoolSettings:
    """How many workers render, how long a render may take, and how much is cached."""

    workers: int = dataclasses.field(default_factory=_default_workers)
    """Worker processes (renders at once); min(2, CPUs) by default."""
    deadline_s: float = 2.0
    """Longest a render may take, and longest a request waits for a free worker."""
    cache_bytes: int = 32 * 1024 * 1024
    """Total size of the cached PNGs; 0 turns the cache off."""
    start_method: str = dataclasses.field(default_factory=_default_start_method)
    """``forkserver`` or ``spawn`` (``fork`` is refused: the worker has threads)."""
    preload: tuple[str, ...] = _DEFAULT_PRELOAD
    """Modules each worker imports as it starts, so the first render is not slow."""
    warm_ups: tuple[Callable[[], object], ...] = ()
    """Picklable top-level functions each worker calls once it imported ``preload``, e.g.
    one that renders a sample card to load fonts (a first card costs 5x a later one)."""

    def __post_init__(self) -> None:
        """Refuse settings the pool cannot run with, naming the field."""
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if not self.deadline_s > 0:
            raise ValueError(f"deadline_s must be positive, got {self.deadline_s}")
        if self.cache_bytes < 0:
            raise ValueError(f"cache_bytes cannot be negative, got {self.cache_bytes}")
        if self.start_method not in _START_METHODS:
            raise ValueError(f"start_method must be forkserver or spawn, got {self.start_method}")


class ImageMetrics:
    """The image pool's metrics, in the worker's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Create the ``shoal_image_*`` metrics in ``registry``."""
        self.renders: Final = Counter(
            "image_renders",
            "Image requests, by kind and outcome (rendered, cached, timeout, failed).",
            ["kind", "outcome"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.render_seconds: Final = Histogram(
            "image_render_seconds",
            "Time to render an image in a worker process, for renders that produced one.",
            ["kind"],
            namespace=NAMESPACE,
            buckets=_RENDER_BUCKETS_S,
            registry=registry,
        )
        self.pool_replacements: Final = Counter(
            "image_pool_replacements",
            "Worker pools replaced, by reason (timeout, crashed, start_failed).",
            ["reason"],
            namespace=NAMESPACE,
            registry=registry,
        )


@dataclasses.dataclass(slots=True, eq=False)
class _Workers:
    """One process pool and what its retirement must wait for."""

    executor: concurrent.futures.ProcessPoolExecutor
    ready: asyncio.Task[None]
    """Done once every worker has started (in a thread); raises if they could not."""
    running: set[concurrent.futures.Future[object]] = dataclasses.field(default_factory=set)
    """Calls submitted and not seen finished (a stuck one stays here)."""


class ImagePool:
    """Renders images in worker processes, cached, within a deadline; see the module."""

    __slots__ = (
        "_cache",
        "_is_closed",
        "_metrics",
        "_renders",
        "_retiring",
        "_settings",
        "_slots",
        "_workers",
    )

    def __init__(
        self, registry: CollectorRegistry, settings: ImagePoolSettings | None = None
    ) -> None:
        """Create a pool with its metrics in ``registry``; :meth:`start` starts the workers."""
        self._settings: Final = settings or ImagePoolSettings()
        self._metrics: Final = ImageMetrics(registry)
        self._cache: Final = ImageCache(self._settings.cache_bytes)
        # One slot per worker: a call is submitted only when a worker is free, so the
        # deadline times the render, not a queue inside the executor.
        self._slots: Final = asyncio.Semaphore(self._settings.workers)
        self._renders: Final[dict[CacheKey, asyncio.Task[bytes]]] = {}
        self._retiring: Final[set[asyncio.Task[None]]] = set()
        self._workers: _Workers | None = None
        self._is_closed = False

    @property
    def settings(self) -> ImagePoolSettings:
        """The settings the pool runs with."""
        return self._settings

    async def start(self) -> None:
        """Start and warm up the workers; raises if they cannot start."""
        if self._workers is not None or self._is_closed:
            raise RuntimeError("an image pool starts once")
        self._workers = self._new_workers()
        await self._workers.ready
        _log.info(
            "image pool started: %d workers (%s)",
            self._settings.workers,
            self._settings.start_method,
        )

    async def close(self) -> None:
        """Let renders under way finish (within their deadline), then stop the workers."""
        if self._is_closed:
            return
        self._is_closed = True
        renders = list(self._renders.values())
        if renders:
            # Waiting for a worker and rendering are each bounded by the deadline.
            await asyncio.wait(renders, timeout=2 * self._settings.deadline_s)
            for task in renders:
                task.cancel()
        if self._workers is not None:
            self._retire(self._workers, stuck=None)
            self._workers = None
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        _log.info("image pool closed")

    async def render(self, kind: str, key: str, fn: Callable[[*Ts], bytes], *args: *Ts) -> bytes:
        """Return the PNG ``fn(*args)`` renders in a worker, or the cached one of (kind, key).

        ``fn`` and ``args`` must be picklable (``fn`` a top-level function). Concurrent
        requests for the same (kind, key) share one render.

        Raises:
            ImageRenderTimeoutError: No image within the deadline.
            ImageRenderError: ``fn`` raised or returned no bytes, its worker died, or the
                pool is closed.
        """
        if self._workers is None and not self._is_closed:
            raise RuntimeError("ImagePool.render before start()")
        cache_key = (kind, key)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._count(kind, ImageOutcome.CACHED)
            return cached
        task = self._renders.get(cache_key)
        is_shared = task is not None
        if task is None:
            task = asyncio.create_task(self._render_new(cache_key, fn, args))
            self._renders[cache_key] = task
            task.add_done_callback(lambda _: self._renders.pop(cache_key, None))
        try:
            data = await self._outcome_of(task)
        except ImageRenderTimeoutError:
            self._count(kind, ImageOutcome.TIMEOUT)
            raise
        except ImageRenderError:
            self._count(kind, ImageOutcome.FAILED)
            raise
        self._count(kind, ImageOutcome.CACHED if is_shared else ImageOutcome.RENDERED)
        return data

    async def _outcome_of(self, task: asyncio.Task[bytes]) -> bytes:
        """Await a shared render; its being cancelled by :meth:`close` is an error here."""
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                raise ImageRenderError("the image pool closed during the render") from None
            raise

    def _count(self, kind: str, outcome: ImageOutcome) -> None:
        self._metrics.renders.labels(kind, outcome.value).inc()

    async def _render_new(
        self, cache_key: CacheKey, fn: Callable[..., bytes], args: tuple[object, ...]
    ) -> bytes:
        workers = await self._take_slot()
        try:
            data = await self._run(workers, cache_key[0], fn, args)
        finally:
            self._slots.release()
        self._cache.put(cache_key, data)
        return data

    async def _take_slot(self) -> _Workers:
        """Wait (within the deadline) for a free worker of the current pool."""
        deadline_s = self._settings.deadline_s
        try:
            async with asyncio.timeout(deadline_s):
                await self._slots.acquire()
                try:
                    return await self._ready_workers()
                except BaseException:
                    self._slots.release()
                    raise
        except TimeoutError:
            raise ImageRenderTimeoutError(
                f"no image worker was free within {deadline_s:g} s"
            ) from None

    async def _ready_workers(self) -> _Workers:
        while True:
            workers = self._workers
            if workers is None or self._is_closed:
                raise ImageRenderError("the image pool is closed")
            try:
                await asyncio.shield(workers.ready)
            except Exception as error:
                self._replace(workers, reason="start_failed", stuck=None)
                raise ImageRenderError(f"image workers could not start: {error!r}") from error
            if workers is self._workers:  # else it was replaced while starting: use the new one
                return workers

    async def _run(
        self, workers: _Workers, kind: str, fn: Callable[..., bytes], args: tuple[object, ...]
    ) -> bytes:
        """Run ``fn(*args)`` on a free worker of ``workers``, within the deadline."""
        deadline_s = self._settings.deadline_s
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            future: concurrent.futures.Future[object] = workers.executor.submit(fn, *args)
        except RuntimeError as error:  # BrokenProcessPool, or shut down by a replacement
            self._replace(workers, reason="crashed", stuck=None)
            raise ImageWorkerCrashedError(
                f"the image workers are being replaced ({kind})"
            ) from error
        workers.running.add(future)
        try:
            async with asyncio.timeout(deadline_s):
                data = await asyncio.wrap_future(future)
        except TimeoutError:
            self._replace(workers, reason="timeout", stuck=future)
            raise ImageRenderTimeoutError(
                f"{kind} image not rendered within {deadline_s:g} s; its worker is replaced"
            ) from None
        except BrokenProcessPool as error:
            self._replace(workers, reason="crashed", stuck=None)
            raise ImageWorkerCrashedError(
                f"an image worker died rendering {kind}; the workers are replaced"
            ) from error
        except Exception as error:
            raise ImageRenderError(f"{kind} image failed: {error!r}") from error
        finally:
            if future.done():
                workers.running.discard(future)
        if not isinstance(data, bytes):
            raise ImageRenderError(f"{kind} image function returned {type(data).__name__}")
        self._metrics.render_seconds.labels(kind).observe(loop.time() - started)
        return data

    def _new_workers(self) -> _Workers:
        settings = self._settings
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=settings.workers,
            mp_context=multiprocessing.get_context(settings.start_method),
            initializer=_prepare_worker,
            initargs=(settings.preload, settings.warm_ups),
        )
        ready = asyncio.create_task(asyncio.to_thread(_warm_up, executor, settings.workers))
        return _Workers(executor, ready)

    def _replace(
        self, workers: _Workers, *, reason: str, stuck: concurrent.futures.Future[object] | None
    ) -> None:
        """Send new renders to a fresh pool and retire ``workers`` (once: later calls no-op)."""
        if workers is not self._workers or self._is_closed:
            return
        _log.warning("replacing the image workers (%s)", reason)
        self._metrics.pool_replacements.labels(reason).inc()
        self._workers = self._new_workers()
        self._retire(workers, stuck=stuck)

    def _retire(
        self, workers: _Workers, *, stuck: concurrent.futures.Future[object] | None
    ) -> None:
        others = [future for future in workers.running if future is not stuck]
        task = asyncio.create_task(self._stop(workers, others, has_stuck=stuck is not None))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _stop(
        self,
        workers: _Workers,
        others: list[concurrent.futures.Future[object]],
        *,
        has_stuck: bool,
    ) -> None:
        with contextlib.suppress(Exception):  # a pool that never started is stopped all the same
            await workers.ready
        grace_s = self._settings.deadline_s
        await asyncio.to_thread(_stop_executor, workers.executor, others, grace_s, has_stuck)


def _prepare_worker(preload: tuple[str, ...], warm_ups: tuple[Callable[[], object], ...]) -> None:
    """Run first in each worker: leave Ctrl-C to the parent, load what renders need.

    An error here breaks the pool, so :meth:`ImagePool.start` fails and says why.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    for module in preload:
        importlib.import_module(module)
    for warm_up in warm_ups:
        warm_up()


def _exit_with_parent() -> None:
    """Exit this worker as soon as the process that started it is gone, even SIGKILLed.

    A pool worker waits on a queue it holds both ends of, and a forkserver lives as long as
    its children: without this, a killed bot process would leave its image workers (and
    the forkserver) running for ever. The parent's sentinel turns readable when it dies.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="shoal-image-parent-watch", daemon=True).start()


def _worker_pid() -> int:
    return os.getpid()


def _warm_up(executor: concurrent.futures.ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now (blocking: run in a thread) rather than at the first renders.

    The executor starts a process per call while none is idle, and none is idle before the
    first call returns, so ``workers`` calls at once start ``workers`` processes.
    """
    calls = [executor.submit(_worker_pid) for _ in range(workers)]
    done, not_done = concurrent.futures.wait(calls, timeout=_WARM_UP_TIMEOUT_S)
    if not_done:
        raise TimeoutError(f"image workers not started within {_WARM_UP_TIMEOUT_S:g} s")
    for call in done:
        call.result()


def _stop_executor(
    executor: concurrent.futures.ProcessPoolExecutor,
    running: Iterable[concurrent.futures.Future[object]],
    grace_s: float,
    has_stuck: bool,  # noqa: FBT001 -- positional for asyncio.to_thread
) -> None:
    """Stop ``executor`` (blocking: run in a thread), killing its workers if one is stuck.

    Killing one worker breaks the whole executor, so the ``running`` calls of the others
    get ``grace_s`` to finish first.
    """
    _, still_running = concurrent.futures.wait(list(running), timeout=grace_s)
    if has_stuck or still_running:
        _kill_workers(executor)  # the executor then fails their calls and ends its thread
    executor.shutdown(wait=True, cancel_futures=True)


def _kill_workers(executor: concurrent.futures.ProcessPoolExecutor) -> None:
    kill = getattr(executor, "kill_workers", None)  # public from Python 3.14
    if callable(kill):
        kill()
        return
    # Before 3.14 nothing public stops a busy worker; its process table is the only handle.
    processes = executor._processes  # noqa: SLF001 -- see above
    for process in list((processes or {}).values()):
        process.kill()
