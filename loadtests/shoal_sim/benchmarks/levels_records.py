"""What the levels benchmarks read back from PostgreSQL to check the XP a stream earned.

Owns reading the ``levels_members`` rows of some guilds (the table ``shoal migrate``
creates: ``guild_id``, ``user_id``, ``xp``) and comparing them with the members a stream
should have paid (:func:`shoal_sim.benchmarks.message_streams.expected_earners`): one row
per earner, each holding exactly the XP of one message. A difference is a correctness
failure (XP lost, doubled, or paid to someone who should not have earned), which the
benchmarks report with a non-zero exit status. Read only after the worker stopped
(SIGTERM drains its queue into Redis and flushes it), so nothing is still on its way.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import asyncpg

from shoal_sim.benchmarks.message_streams import XP_PER_MESSAGE

if TYPE_CHECKING:
    from collections.abc import Collection

__all__ = ["XpTotals", "forget_guilds", "read_totals"]

_TOTALS = """
SELECT count(*) AS rows, coalesce(sum(xp), 0) AS xp,
       count(*) FILTER (WHERE xp <> $2) AS off
FROM levels_members WHERE guild_id = ANY($1::bigint[])
"""
_USERS = "SELECT guild_id, user_id FROM levels_members WHERE guild_id = ANY($1::bigint[])"


@dataclasses.dataclass(frozen=True, slots=True)
class XpTotals:
    """The ``levels_members`` rows of some guilds, summed, against what was expected."""

    rows: int
    xp: int
    off: int
    """Rows whose XP is not exactly one message's."""
    strangers: int
    """Rows of members who were not expected to earn at all."""
    expected_rows: int

    @property
    def expected_xp(self) -> int:
        """One message's XP per expected earner."""
        return self.expected_rows * XP_PER_MESSAGE

    @property
    def is_exact(self) -> bool:
        """Every earner has one row of one message's XP, and nobody else has one."""
        return (
            self.rows == self.expected_rows
            and self.xp == self.expected_xp
            and self.off == 0
            and self.strangers == 0
        )

    def describe(self) -> str:
        """One line: the rows and XP found against those expected."""
        verdict = "exact" if self.is_exact else "MISMATCH"
        return (
            f"{self.rows:,} rows / {self.xp:,} XP in PostgreSQL, expected "
            f"{self.expected_rows:,} / {self.expected_xp:,} ({verdict}; "
            f"{self.off:,} rows off, {self.strangers:,} unexpected members)"
        )


async def forget_guilds(dsn: str, guild_ids: Collection[int]) -> None:
    """Delete the XP rows of ``guild_ids``: a benchmark's next round starts from none."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "DELETE FROM levels_members WHERE guild_id = ANY($1::bigint[])", sorted(guild_ids)
        )
    finally:
        await connection.close()


async def read_totals(dsn: str, earners: Collection[tuple[int, int]]) -> XpTotals:
    """Read the rows of the earners' guilds and compare them with ``earners``.

    Args:
        dsn: The workers' database.
        earners: The (guild id, user id) pairs that should each hold one message's XP.
    """
    guild_ids = sorted({guild_id for guild_id, _ in earners})
    connection = await asyncpg.connect(dsn)
    try:
        totals = await connection.fetchrow(_TOTALS, guild_ids, XP_PER_MESSAGE)
        users = await connection.fetch(_USERS, guild_ids)
    finally:
        await connection.close()
    assert totals is not None  # noqa: S101 - an aggregate always returns a row
    wanted = set(earners)
    strangers = sum(1 for row in users if (row["guild_id"], row["user_id"]) not in wanted)
    return XpTotals(
        rows=int(totals["rows"]),
        xp=int(totals["xp"]),
        off=int(totals["off"]),
        strangers=strangers,
        expected_rows=len(wanted),
    )
