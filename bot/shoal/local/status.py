"""What ``shoal local up`` shows: readings turned into a status row, and the row as text.

Pure. Owns reading the simulator's ``/_sim/stats`` and ``/_sim/sessions`` answers into a
plain sample, totalling the fleet's entries of the shard registry (a stale entry is not a
READY shard: :func:`as_seen_at`), the rate between two
samples, and the text of the live table (redrawn in place on a terminal) and of the plain
periodic line (anything else). Does not own fetching the readings or writing the text
(:mod:`shoal.local.watching`) nor the registry's format (:mod:`shoal.storage.shard_registry`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from shoal.local.community import community_parts
from shoal.local.feature_figures import feature_parts
from shoal.observability.shard_status import ShardStatus
from shoal.planning.registry_staleness import is_stale, shown_state

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from shoal.local.community import CommunityFigures
    from shoal.local.feature_figures import FeatureFigures
    from shoal.storage.shard_registry import RegistryEntry

__all__ = [
    "GenerationRow",
    "RegistrySummary",
    "SimSample",
    "StatusRow",
    "as_seen_at",
    "format_line",
    "format_table",
    "generation_rows",
    "headline",
    "rate_per_s",
    "redraw",
    "registry_summary",
    "sim_sample",
    "status_row",
]

_MISSING: Final = "-"  # shown where a reading is not known (yet, or without a simulator)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SimSample:
    """One reading of the simulator's statistics."""

    at_s: float
    """Monotonic time of the reading, in seconds."""
    shards_ready: int
    """Shards of the fleet's shard count with a connected session (READY was sent)."""
    dispatches: int
    """Dispatches sent since the simulator started."""
    identifies: int
    """IDENTIFYs accepted."""
    resumes: int
    """RESUMEs accepted."""
    invalid_sessions: int
    """Op 9 sent, for any reason."""
    commands_answered: int
    """Interactions that got their initial response."""
    latency_p50_ms: float | None
    """Median time to an interaction's initial response (None before the first)."""
    latency_p99_ms: float | None
    """99th percentile of the same."""
    ready_by_count: Mapping[int, int] = dataclasses.field(default_factory=dict)
    """Shard count -> its shards with a connected session (each generation has its count)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RegistrySummary:
    """What the fleet's shard registry in Redis says, totalled over one generation."""

    shards: int
    """Registered shards (entries that have not expired)."""
    shards_ready: int
    """Registered shards whose state is READY (not stale: see :func:`as_seen_at`)."""
    guilds: int
    """Guilds of the registered shards."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StatusRow:
    """Everything one refresh of the status shows."""

    uptime_s: float
    """Seconds since the fleet started."""
    shards_total: int
    """The fleet's shard count."""
    workers_running: int
    """Worker processes still running."""
    workers_total: int
    """Worker processes started."""
    guilds: int | None
    """The bot's guilds (the simulator's count; None against Discord)."""
    sim: SimSample | None
    """The latest reading of the simulator (None without one)."""
    events_per_s: float | None
    """Dispatches per second since the previous reading."""
    registry: RegistrySummary | None
    """The shard registry (None until a worker writes it)."""
    generations: tuple[GenerationRow, ...] = ()
    """Each running generation while more than one runs (a reshard); empty otherwise."""
    restarts: int = 0
    """Workers started again after exiting on their own, over the run."""
    servers_down: tuple[str, ...] = ()
    """The run's own servers (``redis-server``, ``postgres``) that exited."""
    features: FeatureFigures | None = None
    """The features' counters from the workers' metrics (None until one answers)."""
    community: CommunityFigures | None = None
    """What the showcase guild's members did (None until it is set up, or without one)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRow:
    """One generation of the fleet while a reshard runs two."""

    generation: int
    """The generation (``SHOAL_GENERATION`` of its workers)."""
    shards_total: int
    """Its shard count."""
    is_active: bool
    """Whether it is the active generation (the one whose listeners run)."""
    shards_ready: int | None
    """Its shards with a connected session in the simulator (None without one)."""
    registry_ready: int
    """Its shards READY in the registry."""
    workers_running: int
    """Its worker processes still running."""
    workers_total: int
    """Its worker processes started."""


def generation_rows(
    generations: Sequence[tuple[int, int, tuple[int, int]]],
    *,
    active: int,
    sim: SimSample | None,
    entries: Iterable[RegistryEntry],
) -> tuple[GenerationRow, ...]:
    """Return a row per generation when more than one runs, else none.

    Args:
        generations: ``(generation, shard count, (workers running, workers started))``.
        active: The active generation.
        sim: The simulator's reading (None without one).
        entries: The shard registry's entries.
    """
    if len(generations) < 2:  # noqa: PLR2004 - one generation is the plain table
        return ()
    listed = list(entries)
    rows: list[GenerationRow] = []
    for generation, shards, (running, started) in generations:
        summary = registry_summary(listed, generation=generation, shard_count=shards)
        rows.append(
            GenerationRow(
                generation=generation,
                shards_total=shards,
                is_active=generation == active,
                shards_ready=None if sim is None else sim.ready_by_count.get(shards, 0),
                registry_ready=0 if summary is None else summary.shards_ready,
                workers_running=running,
                workers_total=started,
            )
        )
    return tuple(rows)


def sim_sample(
    stats: Mapping[str, Any],
    sessions: Iterable[Mapping[str, Any]],
    *,
    shard_count: int,
    at_s: float,
) -> SimSample:
    """Read ``GET /_sim/stats`` and ``GET /_sim/sessions`` answers into a sample.

    Only sessions of ``shard_count`` count as ready shards: sessions of another count (an
    earlier run, a reshard) cover other shard ids.
    """
    connected = {
        (session["shard"][0], session["shard"][1])
        for session in sessions
        if session["is_connected"]
    }
    ready_by_count: dict[int, int] = {}
    for _, count in connected:
        ready_by_count[count] = ready_by_count.get(count, 0) + 1
    interactions = stats["interactions"]
    latency = interactions["latency_ms"]
    return SimSample(
        at_s=at_s,
        shards_ready=ready_by_count.get(shard_count, 0),
        dispatches=stats["dispatches"],
        identifies=stats["identifies"],
        resumes=stats["resumes"],
        invalid_sessions=stats["invalid_sessions"],
        commands_answered=interactions["answered"],
        latency_p50_ms=latency["p50"],
        latency_p99_ms=latency["p99"],
        ready_by_count=ready_by_count,
    )


def as_seen_at(entries: Iterable[RegistryEntry], *, now: float) -> list[RegistryEntry]:
    """Return the registry's entries as the status counts them at unix time ``now``.

    An entry its worker stopped rewriting (a frozen or unreachable worker) reads as
    ``stale (ready 7 s ago)``, not READY, until it expires.
    """
    seen: list[RegistryEntry] = []
    for entry in entries:
        age_s = now - entry.updated_at
        is_fresh = not is_stale(age_s)
        seen.append(
            entry if is_fresh else dataclasses.replace(entry, state=shown_state(entry.state, age_s))
        )
    return seen


def registry_summary(
    entries: Iterable[RegistryEntry], *, generation: int, shard_count: int
) -> RegistrySummary | None:
    """Total the registry entries of the fleet's shards (``generation``, ``shard_count``).

    Returns:
        The totals, or None when none of its shards is registered (yet).
    """
    fleet = [e for e in entries if e.generation == generation and e.shard_count == shard_count]
    if not fleet:
        return None
    return RegistrySummary(
        shards=len(fleet),
        shards_ready=sum(1 for entry in fleet if entry.state == ShardStatus.READY),
        guilds=sum(entry.guild_count for entry in fleet),
    )


def rate_per_s(previous: SimSample | None, current: SimSample | None) -> float | None:
    """Return dispatches per second between two samples (None when it cannot be told)."""
    if previous is None or current is None:
        return None
    elapsed_s = current.at_s - previous.at_s
    delta = current.dispatches - previous.dispatches
    if elapsed_s <= 0 or delta < 0:  # same instant, or the simulator's stats were reset
        return None
    return delta / elapsed_s


def status_row(  # noqa: PLR0913 -- keyword-only, one per part of the row
    *,
    uptime_s: float,
    shards_total: int,
    workers: tuple[int, int],
    guilds: int | None,
    previous: SimSample | None,
    current: SimSample | None,
    registry: RegistrySummary | None,
    generations: tuple[GenerationRow, ...] = (),
    restarts: int = 0,
    servers_down: tuple[str, ...] = (),
    features: FeatureFigures | None = None,
    community: CommunityFigures | None = None,
) -> StatusRow:
    """Build the row of one refresh; ``workers`` is (running, started)."""
    running, started = workers
    return StatusRow(
        uptime_s=uptime_s,
        shards_total=shards_total,
        workers_running=running,
        workers_total=started,
        guilds=guilds,
        sim=current,
        events_per_s=rate_per_s(previous, current),
        registry=registry,
        generations=generations,
        restarts=restarts,
        servers_down=servers_down,
        features=features,
        community=community,
    )


def _count(value: int | None) -> str:
    return _MISSING if value is None else f"{value:,}"


def _ms(value: float | None) -> str:
    return _MISSING if value is None else f"{value:.1f} ms"


def _rate(value: float | None) -> str:
    return _MISSING if value is None else f"{value:,.1f}"


def _uptime(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _registry_ready(row: StatusRow) -> str:
    registry = row.registry
    return "" if registry is None else f"registry {registry.shards_ready}/{row.shards_total}"


def _cells(label: str, value: str, more: str = "") -> str:
    return f"  {label:<14} {value:<12} {more}".rstrip()


def format_table(row: StatusRow) -> list[str]:
    """Return the lines of the live table shown on a terminal."""
    sim = row.sim
    registry = row.registry
    ready = None if sim is None else sim.shards_ready
    lines = [
        (
            f"shoal local up: {row.shards_total} shards in {row.workers_total} workers, "
            f"up {_uptime(row.uptime_s)}"
        ),
        _cells("shards ready", f"{_count(ready)}/{row.shards_total}", _registry_ready(row)),
        *(_generation_cells(generation) for generation in row.generations),
        _cells("workers", f"{row.workers_running}/{row.workers_total}", _workers_more(row)),
        *([_cells("servers", ", ".join(row.servers_down), "down")] if row.servers_down else []),
        _cells(
            "guilds",
            _count(row.guilds),
            "" if registry is None else f"registry {registry.guilds:,}",
        ),
        _cells("events/s", _rate(row.events_per_s)),
    ]
    if sim is not None:
        lines += [
            _cells(
                "commands",
                f"{sim.commands_answered:,} answered",
                f"p50 {_ms(sim.latency_p50_ms)}  p99 {_ms(sim.latency_p99_ms)}",
            ),
            _cells(
                "identifies",
                f"{sim.identifies:,}",
                f"resumes {sim.resumes:,}  invalid sessions {sim.invalid_sessions:,}",
            ),
        ]
    if row.features is not None:
        levels, answered = feature_parts(row.features)
        lines += [_cells("levels", levels), _cells("answered", answered)]
    if row.community is not None:
        onboarding, menus = community_parts(row.community)
        lines += [_cells("onboarding", onboarding), _cells("role menus", menus)]
    lines.append("Ctrl-C stops the fleet.")
    return lines


def _workers_more(row: StatusRow) -> str:
    return "running" if not row.restarts else f"running  restarts {row.restarts:,}"


def _generation_cells(row: GenerationRow) -> str:
    role = "active" if row.is_active else "passive"
    return _cells(
        f"generation {row.generation}",
        f"{_count(row.shards_ready)}/{row.shards_total}",
        f"registry {row.registry_ready}/{row.shards_total}  "
        f"workers {row.workers_running}/{row.workers_total}  {role}",
    )


def _generation_part(row: GenerationRow) -> str:
    role = "active" if row.is_active else "passive"
    return (
        f"generation {row.generation} {_count(row.shards_ready)}/{row.shards_total} ready "
        f"(registry {row.registry_ready}/{row.shards_total}) "
        f"workers {row.workers_running}/{row.workers_total} {role}"
    )


def format_line(row: StatusRow) -> str:
    """Return the one-line status printed periodically when the output is not a terminal."""
    sim = row.sim
    parts = [
        _uptime(row.uptime_s),
        f"shards {_count(None if sim is None else sim.shards_ready)}/{row.shards_total} ready",
    ]
    if row.registry is not None:
        parts.append(f"({_registry_ready(row)})")
    parts += [
        f"workers {row.workers_running}/{row.workers_total}",
        *([f"restarts {row.restarts}"] if row.restarts else []),
        *([f"down {','.join(row.servers_down)}"] if row.servers_down else []),
        f"guilds {_count(row.guilds)}",
        f"events/s {_rate(row.events_per_s)}",
    ]
    if row.generations:
        parts.append("[" + "; ".join(_generation_part(g) for g in row.generations) + "]")
    if sim is not None:
        parts += [
            f"p50 {_ms(sim.latency_p50_ms)}",
            f"p99 {_ms(sim.latency_p99_ms)}",
            f"identifies {sim.identifies}",
            f"resumes {sim.resumes}",
        ]
    if row.features is not None:
        levels, answered = feature_parts(row.features)
        parts += [f"levels: {levels}", f"answered: {answered}"]
    if row.community is not None:
        onboarding, menus = community_parts(row.community)
        parts += [f"onboarding: {onboarding}", f"role menus: {menus}"]
    return " ".join(parts)


def headline(row: StatusRow) -> tuple[object, ...]:
    """Return what, when it changes, deserves a plain line at once: readiness and workers."""
    return (
        row.shards_total,
        None if row.sim is None else row.sim.shards_ready,
        None if row.registry is None else row.registry.shards_ready,
        row.workers_running,
        row.restarts,
        row.servers_down,
        tuple(
            (g.generation, g.shards_ready, g.registry_ready, g.workers_running, g.is_active)
            for g in row.generations
        ),
    )


def redraw(lines: Sequence[str], previous_height: int) -> str:
    """Return terminal text that replaces the previous ``previous_height`` lines with ``lines``.

    Uses two ANSI sequences every terminal emulator knows: CSI n F (cursor to the start of
    the line n up) and CSI J (erase to the end of the screen).
    """
    rewind = f"\x1b[{previous_height}F\x1b[J" if previous_height else ""
    return rewind + "".join(f"{line}\n" for line in lines)
