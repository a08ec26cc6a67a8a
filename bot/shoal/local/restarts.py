"""When a local fleet restarts a worker that exited on its own: the kubelet's rule, locally.

In Kubernetes a shard pod that exits is restarted by the kubelet (restartPolicy Always),
at once the first time and then with a back-off that doubles while it keeps failing soon
after starting (CrashLoopBackOff). ``shoal local up`` plays that part for its worker
processes (a simulation of the kubelet, with shorter delays: a person is watching), with
two differences a person at a terminal needs: a crash loop ends the run with the
worker's log instead of retrying for ever, and a worker that exited with status 3 (Discord
refused the bot: a fatal close code such as a bad token) ends it at once, since restarting
cannot help.

Pure: :func:`next_restart` decides from what is known about one exit. Restarting the
process is :mod:`shoal.local.keeping`'s.
"""

from __future__ import annotations

import dataclasses
import signal
from typing import Final

__all__ = ["EXIT_FATAL_CLOSE", "Restart", "RestartPolicy", "exit_text", "next_restart"]

EXIT_FATAL_CLOSE: Final = 3
"""``shoal worker``'s status when Discord closed a shard with a fatal code (see
:data:`shoal.gateway.running.EXIT_FATAL_CLOSE`; a test keeps the two equal)."""


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


def next_restart(
    *,
    exit_status: int,
    ran_s: float,
    quick_exits: int,
    policy: RestartPolicy | None = None,
) -> Restart:
    """Decide what follows a worker's exit.

    Args:
        exit_status: Its status (negative: the signal that killed it).
        ran_s: How long it ran since it was last started.
        quick_exits: Quick exits in a row before this one.
        policy: The delays and the crash-loop threshold (defaults above).
    """
    policy = policy or RestartPolicy()
    if exit_status == EXIT_FATAL_CLOSE:
        return Restart(
            None,
            quick_exits,
            "Discord closed a shard with a fatal code (status 3): restarting cannot help; "
            "check the token and the intents",
        )
    quick = quick_exits + 1 if ran_s < policy.stable_after_s else 0
    if quick >= policy.crash_loop_exits:
        return Restart(
            None,
            quick,
            f"it exited {quick} times in a row within {policy.stable_after_s:g} s of starting "
            "(a crash loop)",
        )
    if quick <= 1:
        return Restart(0.0, quick)
    return Restart(min(policy.max_delay_s, policy.first_delay_s * 2 ** (quick - 2)), quick)


def exit_text(exit_status: int) -> str:
    """Return how a person reads an exit status: ``status 1`` or ``killed by SIGKILL``."""
    if exit_status < 0:
        try:
            return f"killed by {signal.Signals(-exit_status).name}"
        except ValueError:
            return f"killed by signal {-exit_status}"
    return f"status {exit_status}"
