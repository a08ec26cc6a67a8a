"""Watching a local fleet: reading the simulator and the shard registry, showing the status.

Owns the I/O of the status: one reading per refresh from the simulator's control API, from
the shard registry in Redis and from the workers' ``/metrics`` (the features' counters);
any may be absent or briefly unreachable: the reading is then None and the next refresh
tries again; stale entries read as not READY. Also writing the status to a stream, as a
table redrawn in place on a terminal or as a plain line now and then elsewhere. What is
read and shown is decided in :mod:`shoal.local.status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Final, TextIO

import aiohttp
import redis.exceptions

from shoal.local.feature_figures import feature_figures
from shoal.local.status import as_seen_at, format_line, format_table, headline, redraw, sim_sample
from shoal.storage.shard_registry import read_registry

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from redis.asyncio import Redis

    from shoal.local.feature_figures import FeatureFigures
    from shoal.local.simulating import SimulatorControl
    from shoal.local.status import SimSample, StatusRow
    from shoal.storage.redis_keys import RedisKeys
    from shoal.storage.shard_registry import RegistryEntry

__all__ = ["FleetReader", "StatusBoard"]

_PLAIN_EVERY_S: Final = 10.0  # a plain line this often (and at once when readiness changes)
_METRICS_TIMEOUT_S: Final = 1.0  # a worker busy starting answers next time


class StatusBoard:
    """Writes the status: redrawn in place on a terminal, plain periodic lines elsewhere."""

    __slots__ = ("_height", "_is_live", "_last_headline", "_last_line_at_s", "_stream")

    def __init__(self, stream: TextIO, *, is_live: bool) -> None:
        """Write to ``stream``; ``is_live`` when it is a terminal that can be redrawn."""
        self._stream = stream
        self._is_live = is_live
        self._height = 0
        self._last_headline: object = None
        self._last_line_at_s: float | None = None

    def say(self, text: str) -> None:
        """Write a message; on a terminal it goes above the table, which is drawn again."""
        if self._is_live and self._height:
            self._stream.write(redraw((), self._height))
            self._height = 0
        self._stream.write(text if text.endswith("\n") else f"{text}\n")
        self._stream.flush()

    def keep(self) -> None:
        """Leave the table on screen: messages from now on go below it."""
        self._height = 0

    def show(self, row: StatusRow, now_s: float) -> None:
        """Show one refresh."""
        if self._is_live:
            lines = format_table(row)
            self._stream.write(redraw(lines, self._height))
            self._height = len(lines)
        elif self._is_line_due(row, now_s):
            self._stream.write(f"{format_line(row)}\n")
            self._last_line_at_s = now_s
        self._stream.flush()

    def _is_line_due(self, row: StatusRow, now_s: float) -> bool:
        changed = headline(row) != self._last_headline
        self._last_headline = headline(row)
        last = self._last_line_at_s
        return changed or last is None or now_s - last >= _PLAIN_EVERY_S


class FleetReader:
    """Reads the simulator's statistics and the fleet's shard registry once per refresh."""

    __slots__ = ("_clock", "_control", "_http", "_keys", "_redis")

    def __init__(
        self,
        *,
        control: SimulatorControl | None,
        redis_client: Redis | None,
        keys: RedisKeys,
        http: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Read from ``control`` (None: no simulator) and ``redis_client`` (decoded).

        ``http`` reads the workers' metrics (None: not read). ``clock`` is the unix time
        the registry's entries are judged stale against.
        """
        self._control = control
        self._redis = redis_client
        self._keys = keys
        self._http = http
        self._clock = clock

    async def read_features(self, ports: Sequence[int]) -> FeatureFigures | None:
        """Return the features' counters over the workers on loopback ``ports``.

        None without a session or when no worker answered; a worker that does not answer
        in time is left out of this reading.
        """
        if self._http is None or not ports:
            return None
        texts = [text for text in await asyncio.gather(*map(self._metrics, ports)) if text]
        return feature_figures(texts) if texts else None

    async def _metrics(self, port: int) -> str | None:
        if self._http is None:  # pragma: no cover - read_features checked it
            return None
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
            async with asyncio.timeout(_METRICS_TIMEOUT_S):
                response = await self._http.get(f"http://127.0.0.1:{port}/metrics")
                async with response:
                    if response.status == 200:  # noqa: PLR2004 - HTTP OK
                        return await response.text()
        return None

    async def read_simulator(self, at_s: float, *, shard_count: int) -> SimSample | None:
        """Return the simulator's reading (ready shards of the active ``shard_count``).

        None without a simulator or when it does not answer.
        """
        if self._control is None:
            return None
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            stats = await self._control.stats()
            sessions = await self._control.sessions()
            return sim_sample(stats, sessions, shard_count=shard_count, at_s=at_s)
        return None

    async def read_registry(self) -> list[RegistryEntry] | None:
        """Return the registry's entries, or None without Redis or when it is down.

        A stale entry's state reads ``stale (...)`` (:func:`shoal.local.status.as_seen_at`).
        """
        if self._redis is None:
            return None
        with contextlib.suppress(redis.exceptions.RedisError, OSError):
            entries = await read_registry(self._redis, self._keys)
            return as_seen_at(entries, now=self._clock())
        return None
