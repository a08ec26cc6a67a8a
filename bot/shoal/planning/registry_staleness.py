"""When a shard registry entry is stale, and which entries count as READY shards.

Workers rewrite their registry entries every :data:`REGISTRY_REFRESH_S`; an entry only
expires a few refreshes later (its time to live), so the entries of a worker that froze or
lost its network keep saying READY until then. Every reader that counts READY shards
(``shoal status``, the operator, ``shoal local up``'s status and reshard controller) uses
:func:`is_counted_ready` or :func:`ready_by_generation`: an entry not rewritten for
:data:`STALE_AFTER_S` is stale and is not READY, whatever its last state said.

Pure, stdlib only. Ages are the reader's clock minus the writer's (``updated_at``, unix
time): the pods' clocks are assumed synchronised (NTP) far better than a second. Does not
own the entries' format nor reading them (``shoal.storage.shard_registry``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "READY_STATE",
    "REGISTRY_REFRESH_S",
    "STALE_AFTER_S",
    "RegistryReading",
    "is_counted_ready",
    "is_stale",
    "ready_by_generation",
    "shown_state",
]

#: Workers rewrite their entries this often: short, so a frozen worker shows soon.
REGISTRY_REFRESH_S: Final = 2.0
#: Two and a half refreshes: one late write (a slow round trip, a busy event loop) is not
#: stale, two missed ones are.
STALE_AFTER_S: Final = 2.5 * REGISTRY_REFRESH_S
#: ``shoal.observability.shard_status.ShardStatus.READY`` (planning imports no shoal module).
READY_STATE: Final = "ready"


class RegistryReading(Protocol):
    """What these rules read of a registry entry (``shoal.storage.shard_registry``'s)."""

    @property
    def generation(self) -> int:
        """The shard set it belongs to."""
        ...

    @property
    def shard_count(self) -> int:
        """The total shard count of its generation."""
        ...

    @property
    def state(self) -> str:
        """The shard's state when its worker last wrote the entry."""
        ...

    @property
    def updated_at(self) -> float:
        """Unix time of that write."""
        ...


def is_stale(age_s: float) -> bool:
    """Return whether an entry last written ``age_s`` seconds ago is stale."""
    return age_s > STALE_AFTER_S


def is_counted_ready(state: str, age_s: float) -> bool:
    """Return whether an entry in ``state``, written ``age_s`` seconds ago, is a READY shard."""
    return state == READY_STATE and not is_stale(age_s)


def shown_state(state: str, age_s: float) -> str:
    """Return the state to show: ``state``, or ``stale (ready 7 s ago)`` once stale."""
    if not is_stale(age_s):
        return state
    return f"stale ({state} {age_s:.0f} s ago)"


def ready_by_generation(
    entries: Iterable[RegistryReading], expected: Mapping[int, int], *, now: float
) -> dict[int, int]:
    """Return generation -> its READY shards in the registry at unix time ``now``.

    Only fresh READY entries of the generation's expected shard count are counted: an
    entry left by an earlier run (or a generation given up) with another count covers
    other shards, and a stale one's worker may be gone.
    """
    ready: dict[int, int] = {}
    for entry in entries:
        if expected.get(entry.generation) != entry.shard_count:
            continue
        if is_counted_ready(entry.state, now - entry.updated_at):
            ready[entry.generation] = ready.get(entry.generation, 0) + 1
    return ready
