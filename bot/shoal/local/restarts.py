"""When a local fleet restarts a worker that exited on its own: the kubelet's rule, locally.

In Kubernetes a shard pod that exits is restarted by the kubelet (restartPolicy Always),
at once the first time and then with a back-off that doubles while it keeps failing soon
after starting (CrashLoopBackOff). ``shoal local up`` plays that part for its worker
processes (a simulation of the kubelet, with shorter delays: a person is watching), with
two differences a person at a terminal needs: a crash loop ends the run with the
worker's log instead of retrying for ever, and a worker that exited with status 3 (Discord
refused the bot: a fatal close code such as a bad token) ends it at once, since restarting
cannot help.

Except 4011 ("sharding required"): there the fleet, not the worker, is wrong, and the
reshard controller grows the shard count on the worker's record of it, as the operator
does. So the worker is restarted as the kubelet would (with the usual back-off, each
restart costing Discord one session start) until the new generation replaces its own, and
its quick exits never make a crash loop: the reshard ends them. Leaving it stopped
instead would differ from a pod, and a generation whose workers do not run cannot be
told apart from one that is being replaced. Only a count the person fixed (``--shards``)
cannot grow: then 4011 ends the run at once too.

Pure: :func:`next_restart` decides from what is known about one exit (the close code is
read from the worker's fatal-close record by :mod:`shoal.local.keeping`). Restarting the
process is :mod:`shoal.local.keeping`'s.
"""

from __future__ import annotations

import dataclasses
import signal
from typing import Final

from shoal.planning.closing import FATAL_REASONS
from shoal.planning.reconciling import SHARDING_REQUIRED

__all__ = [
    "EXIT_FATAL_CLOSE",
    "SHARDING_REQUIRED_NOTE",
    "Restart",
    "RestartPolicy",
    "exit_text",
    "next_restart",
]

EXIT_FATAL_CLOSE: Final = 3
"""``shoal worker``'s status when Discord closed a shard with a fatal code (see
:data:`shoal.gateway.running.EXIT_FATAL_CLOSE`; a test keeps the two equal)."""
SHARDING_REQUIRED_NOTE: Final = "Discord requires more shards (4011): resharding"
"""What the run says when it restarts a worker that Discord closed with 4011."""


@dataclasses.dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How soon, and how many times, a worker that keeps exiting is started again."""

    stable_after_s: float = 10.0
    """A worker that ran this long before exiting was healthy: its exit is not a crash loop."""
    first_delay_s: float = 1.0
    """The wait before the second quick restart in a row (the first is at once)."""
    max_delay_s: float = 16.0
    """The longest wait between restarts."""
    crash_loop_exits: int = 5
    """This many quick exits in a row is a crash loop: the run ends."""


@dataclasses.dataclass(frozen=True, slots=True)
class Restart:
    """What to do about one exit."""

    delay_s: float | None
    """How long to wait before starting the worker again; None: do not, end the run."""
    quick_exits: int
    """Quick exits in a row, this one included (0 after a worker that ran stably)."""
    reason: str = ""
    """Why the run ends, when it does."""
    note: str = ""
    """What a restart is waiting for, when more than the worker itself (a reshard)."""


def next_restart(
    *,
    exit_status: int,
    ran_s: float,
    quick_exits: int,
    close_code: int | None = None,
    is_count_fixed: bool = False,
    policy: RestartPolicy | None = None,
) -> Restart:
    """Decide what follows a worker's exit.

    Args:
        exit_status: Its status (negative: the signal that killed it).
        ran_s: How long it ran since it was last started.
        quick_exits: Quick exits in a row before this one.
        close_code: After status 3, the code of the worker's fatal-close record (None: it
            has none, or it could not be read).
        is_count_fixed: Whether the person fixed the shard count (``--shards``): a 4011
            close cannot be resharded away.
        policy: The delays and the crash-loop threshold (defaults above).
    """
    policy = policy or RestartPolicy()
    quick = quick_exits + 1 if ran_s < policy.stable_after_s else 0
    if exit_status == EXIT_FATAL_CLOSE:
        if close_code == SHARDING_REQUIRED and not is_count_fixed:
            return Restart(_back_off_s(quick, policy), quick, note=SHARDING_REQUIRED_NOTE)
        return Restart(None, quick_exits, _fatal_reason(close_code))
    if quick >= policy.crash_loop_exits:
        return Restart(
            None,
            quick,
            f"it exited {quick} times in a row within {policy.stable_after_s:g} s of starting "
            "(a crash loop)",
        )
    return Restart(_back_off_s(quick, policy), quick)


def _back_off_s(quick: int, policy: RestartPolicy) -> float:
    """Return the wait before a restart after ``quick`` quick exits in a row: 0, 1, 2, 4..."""
    if quick <= 1:
        return 0.0
    return min(policy.max_delay_s, policy.first_delay_s * 2.0 ** (quick - 2))


def _fatal_reason(close_code: int | None) -> str:
    """Return why a fatal close ends the run, naming the code when it is known."""
    if close_code == SHARDING_REQUIRED:
        return (
            "Discord requires more shards (4011) but --shards fixes the count: "
            "run with more shards, or without --shards so that the fleet reshards"
        )
    if close_code is None:
        return (
            "Discord closed a shard with a fatal code (status 3): restarting cannot help; "
            "check the token and the intents"
        )
    meaning = FATAL_REASONS.get(close_code, "a fatal code")
    return f"Discord closed a shard with {close_code} ({meaning}): restarting cannot help"


def exit_text(exit_status: int) -> str:
    """Return how a person reads an exit status: ``status 1`` or ``killed by SIGKILL``."""
    if exit_status < 0:
        try:
            return f"killed by {signal.Signals(-exit_status).name}"
        except ValueError:
            return f"killed by signal {-exit_status}"
    return f"status {exit_status}"
