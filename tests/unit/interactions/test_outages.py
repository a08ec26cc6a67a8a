"""Telling a server outage from a bug, and logging it once a minute per command."""

from __future__ import annotations

import asyncpg
import redis.exceptions

from shoal.interactions.outages import OutageNotes, is_outage
from shoal.storage.errors import StorageUnavailableError


def test_connection_failures_are_outages_and_bugs_are_not() -> None:
    assert is_outage(redis.exceptions.ConnectionError("refused"))
    assert is_outage(redis.exceptions.TimeoutError("slow"))
    assert is_outage(asyncpg.ConnectionDoesNotExistError("gone"))
    assert is_outage(StorageUnavailableError("SHOAL_REDIS_URL", "redis://127.0.0.1:1/0", "refused"))
    assert is_outage(OSError(111, "refused"))
    assert not is_outage(redis.exceptions.ResponseError("WRONGTYPE"))
    assert not is_outage(asyncpg.UndefinedTableError("no table"))
    assert not is_outage(ValueError("a bug"))


def test_a_wrapped_outage_counts_by_its_cause() -> None:
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = redis.exceptions.ConnectionError("refused")
    assert is_outage(wrapped)
    assert not is_outage(RuntimeError("alone"))


def test_notes_are_due_once_a_minute_per_command() -> None:
    now = [0.0]
    notes = OutageNotes(clock=lambda: now[0])
    assert notes.is_due("/rank")
    assert not notes.is_due("/rank")
    assert notes.is_due("/leaderboard")
    now[0] += 59.0
    assert not notes.is_due("/rank")
    now[0] += 1.0
    assert notes.is_due("/rank")
