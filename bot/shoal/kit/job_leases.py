"""Fleet-wide leases on background jobs in Redis, with fencing tokens, and each job's last run.

Owns the Redis side of :mod:`shoal.kit.jobs`: :class:`RedisJobLeases` takes a job's lease
(``keys.feature("jobs", "lease", name)``, ``SET NX PX`` in a script), renews and releases
it only while it is still this holder's (compare and act, in Lua), and stamps when a
periodic job's run ended (``keys.feature("jobs", "last-run", name)``), so that the next
holder keeps the period.

The lease's value is ``<owner>|<token>``. The token is the fencing token of one acquisition:
``INCR`` of ``keys.feature("jobs", "fence", name)``, but never below Redis's clock in
microseconds, so tokens still increase after a Redis restart that lost the counter (a
storage write that refuses tokens below the last one it saw would otherwise refuse every
holder after the restart). Every failure is reported to Redis's health (one WARNING when
it goes, one INFO when it is back) and turned into an answer: no lease, or
:attr:`~shoal.kit.job_rules.Renewal.UNANSWERED`. Does not own when to renew or when a
lease counts as lost (:mod:`shoal.kit.job_rules`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import TYPE_CHECKING, Final

from shoal.kit.job_rules import Renewal
from shoal.storage.probing import REDIS_ERRORS, redis_health

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from shoal.observability.dependencies import DependencyHealth
    from shoal.storage.redis_keys import RedisKeys

__all__ = ["CONSEQUENCE", "Lease", "RedisJobLeases"]

CONSEQUENCE: Final = "background jobs do not run until it is back"
"""What a worker does without Redis, as the health's WARNING says (nobody can prove a lease)."""

# KEYS: lease, fence. ARGV: owner, ttl_ms. Returns the token (a string), or false when held.
_ACQUIRE: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
local now = redis.call('TIME')
local floor = now[1] .. string.sub('000000' .. now[2], -6)
if token < tonumber(floor) then
  redis.call('SET', KEYS[2], floor)
  token = tonumber(floor)
end
local text = string.format('%d', token)
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. text, 'PX', ARGV[2])
return text
"""
# KEYS: lease. ARGV: value, ttl_ms. 1: renewed; 0: not this holder's (or nobody's).
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: lease. ARGV: value. 1: released; 0: it was not this holder's.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: lease, last-run. ARGV: value, unix_s, ttl_ms. A stale holder stamps nothing.
_STAMP: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""
_MIN_STAMP_TTL_MS: Final = 3_600_000  # a stamp outlives a short period by far: it costs bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Lease:
    """One acquisition of a job's lease by this worker."""

    name: str
    """The job's name."""
    token: int
    """Its fencing token: larger than every earlier acquisition's of the same job."""
    value: str
    """What the lease key holds while it is this acquisition's (``<owner>|<token>``)."""


class RedisJobLeases:
    """Job leases as Redis keys, shared by every worker of the bot."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        owner: str,
        health: DependencyHealth | None = None,
    ) -> None:
        """Take leases in ``redis`` under ``keys`` as ``owner`` (pod and generation).

        ``health`` is Redis's as this process sees it (a private one by default). Leases
        are asked for even while it says Redis is down: polls come every third of a
        lease, and a job runner must notice on its own that Redis is back.
        """
        self._redis = redis
        self._keys = keys
        self._owner = owner
        self._health = health or redis_health(None, consequence=CONSEQUENCE)
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._stamp = redis.register_script(_STAMP)

    async def acquire(self, name: str, *, lease_s: float, timeout_s: float) -> Lease | None:
        """Take the lease on job ``name`` for ``lease_s``; None when held or Redis is down."""
        keys = [self._lease_key(name), self._keys.feature("jobs", "fence", name)]
        try:
            async with asyncio.timeout(timeout_s):
                token = await self._acquire(keys=keys, args=[self._owner, _ms(lease_s)])
        except REDIS_ERRORS as error:
            self._health.report_failure(error, operation="job_lease")
            return None
        self._health.report_success()
        if token is None:
            return None
        text = token.decode() if isinstance(token, bytes) else str(token)
        return Lease(name=name, token=int(text), value=f"{self._owner}|{text}")

    async def renew(self, lease: Lease, *, lease_s: float, timeout_s: float) -> Renewal:
        """Extend ``lease`` by ``lease_s`` from now if it is still this acquisition's."""
        try:
            async with asyncio.timeout(timeout_s):
                renewed = await self._renew(
                    keys=[self._lease_key(lease.name)], args=[lease.value, _ms(lease_s)]
                )
        except REDIS_ERRORS as error:
            self._health.report_failure(error, operation="job_lease")
            return Renewal.UNANSWERED
        self._health.report_success()
        return Renewal.RENEWED if renewed == 1 else Renewal.REFUSED

    async def is_held(self, lease: Lease, *, timeout_s: float) -> bool:
        """Return whether ``lease`` is still this acquisition's (False when Redis is down)."""
        try:
            async with asyncio.timeout(timeout_s):
                value = await self._redis.get(self._lease_key(lease.name))
        except REDIS_ERRORS as error:
            self._health.report_failure(error, operation="job_lease")
            return False
        self._health.report_success()
        text = value.decode() if isinstance(value, bytes) else value
        return text == lease.value

    async def release(self, lease: Lease, *, timeout_s: float) -> bool:
        """Give ``lease`` up now (the next worker takes over at its next poll).

        Returns False when it was no longer this acquisition's or Redis could not be
        asked (then it expires on its own).
        """
        try:
            async with asyncio.timeout(timeout_s):
                released = await self._release(
                    keys=[self._lease_key(lease.name)], args=[lease.value]
                )
        except REDIS_ERRORS as error:
            self._health.report_failure(error, operation="job_lease")
            return False
        self._health.report_success()
        return bool(released == 1)

    async def last_finished(self, name: str, *, timeout_s: float) -> float | None:
        """Return when job ``name``'s last run ended (Unix s), None when unknown."""
        try:
            async with asyncio.timeout(timeout_s):
                raw = await self._redis.get(self._keys.feature("jobs", "last-run", name))
        except REDIS_ERRORS as error:
            self._health.report_failure(error, operation="job_lease")
            return None
        self._health.report_success()
        try:
            stamp = float(raw) if raw is not None else None
        except ValueError:
            return None
        return stamp if stamp is not None and math.isfinite(stamp) else None

    async def stamp_finished(
        self, lease: Lease, finished_unix_s: float, *, every_s: float, timeout_s: float
    ) -> None:
        """Record that a run under ``lease`` ended at ``finished_unix_s`` (if still held)."""
        ttl_ms = max(_ms(every_s * 2), _MIN_STAMP_TTL_MS)
        keys = [self._lease_key(lease.name), self._keys.feature("jobs", "last-run", lease.name)]
        try:
            async with asyncio.timeout(timeout_s):
                await self._stamp(keys=keys, args=[lease.value, repr(finished_unix_s), ttl_ms])
        except REDIS_ERRORS as error:
            self._health.report_failure(error, operation="job_lease")
            return
        self._health.report_success()

    def _lease_key(self, name: str) -> str:
        return self._keys.feature("jobs", "lease", name)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
