"""Supervising a running local fleet: the status loop, ``--grow`` and children that exit.

Owns what happens between start and stop: one refresh per ``--refresh`` (the reshard
controller's failure, exited children, the status row, the load kept running, guilds
added until the fleet reshards), the end of a timed or ``--grow`` run, and the interaction
tally a ``--grow`` run ends with. Does not start or stop anything (:mod:`.launching`
does), nor read or show the status (:mod:`.watching`) nor decide it (:mod:`.status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import TYPE_CHECKING, Final

import aiohttp

from shoal.local.errors import LocalUpError
from shoal.local.growing import GuildGrowth
from shoal.local.populating import CommunityDriver, CommunityPace
from shoal.local.reshards import active_key_generation, interaction_tally, is_growing, tally_line
from shoal.local.simulating import LoadDriver, LoadRun
from shoal.local.spawning import log_tail
from shoal.local.status import generation_rows, registry_summary, status_row
from shoal.planning.reconciling import expected_shards

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from shoal.local.feature_figures import FeatureFigures
    from shoal.local.keeping import WorkerKeeper
    from shoal.local.options import LocalOptions
    from shoal.local.resharding import ReshardController
    from shoal.local.simulating import SimulatorControl, SimulatorProcess
    from shoal.local.spawning import ServerProcess
    from shoal.local.status import SimSample, StatusRow
    from shoal.local.watching import FleetReader, StatusBoard
    from shoal.local.workers import WorkerGenerations
    from shoal.planning.resharding import ReshardState
    from shoal.storage.shard_registry import RegistryEntry

__all__ = [
    "Fleet",
    "FleetSupervisor",
    "RunOutcome",
    "community_driver",
    "guild_growth",
    "load_driver",
]

_LOAD_RUN_S: Final = 60.0  # one load generator run; renewed before it ends
_GROW_SETTLE_S: Final = 5.0  # after the reshard, the load runs on the new generation alone
_DEADLINE_MARGIN_S: Final = 0.5  # past the interaction deadline, the simulator has counted


@dataclasses.dataclass(slots=True)
class RunOutcome:
    """How a run is going; read once it ended to choose the exit status."""

    is_clean: bool = True
    """False once something failed or exited on its own: the logs are then kept."""
    is_failed: bool = False
    """True when a ``--grow`` run left an interaction unanswered or answered twice."""


@dataclasses.dataclass(frozen=True, slots=True)
class Fleet:
    """What the status loop watches."""

    guilds: int | None
    generations: WorkerGenerations
    controller: ReshardController
    sim: SimulatorProcess | None
    control: SimulatorControl | None
    load: LoadDriver | None
    growth: GuildGrowth | None
    keeper: WorkerKeeper
    servers: tuple[ServerProcess, ...] = ()
    """The Redis and PostgreSQL this run started (none when it was given them)."""
    community: CommunityDriver | None = None
    """The showcase guild's admin and members (None without a simulator or a rate)."""


def load_driver(options: LocalOptions, control: SimulatorControl | None) -> LoadDriver | None:
    """Return the driver of the simulator's load, or None without a simulator or a rate."""
    if control is None or (options.messages_per_s == 0 and options.interactions_per_s == 0):
        return None
    run = LoadRun(
        messages_per_s=options.messages_per_s,
        interactions_per_s=options.interactions_per_s,
        duration_s=_LOAD_RUN_S,
        commands=options.commands,
    )
    return LoadDriver(control, run)


def community_driver(
    options: LocalOptions, control: SimulatorControl | None, say: Callable[[str], None]
) -> CommunityDriver | None:
    """Return the showcase guild's driver, or None without a simulator or a rate."""
    if control is None or (options.joins_per_s == 0 and options.role_picks_per_s == 0):
        return None
    pace = CommunityPace(joins_per_s=options.joins_per_s, picks_per_s=options.role_picks_per_s)
    return CommunityDriver(control, pace, say)


def guild_growth(options: LocalOptions, control: SimulatorControl | None) -> GuildGrowth | None:
    """Return the ``--grow`` guild growth, or None without a simulator or ``--grow``."""
    rate = options.grow_guilds_per_s
    if control is None or rate is None:
        return None
    return GuildGrowth(control, rate_per_s=rate, members=options.members_per_guild)


def _shown_generation(state: ReshardState) -> tuple[int, int]:
    """Return the generation the status leads with (the key's) and its shard count."""
    generation = active_key_generation(state)
    return generation, expected_shards(state).get(generation, state.active_shards)


class FleetSupervisor:
    """The status loop of one run, and what it remembers between refreshes."""

    def __init__(
        self,
        options: LocalOptions,
        board: StatusBoard,
        stop: asyncio.Event,
        outcome: RunOutcome,
    ) -> None:
        self.options = options
        self.board = board
        self.stop = stop
        self.outcome = outcome
        self._reported: set[str] = set()
        self._is_growing = False
        self._has_been_ready = False
        self._reshard_done_at_s: float | None = None

    async def watch(self, reader: FleetReader, fleet: Fleet) -> None:
        """Refresh the status until the run is over, then stop the load and tally."""
        loop = asyncio.get_running_loop()
        started_s = loop.time()
        previous = None
        while not self._is_over(loop.time() - started_s):
            now_s = loop.time()
            fleet.controller.raise_if_failed()
            fleet.keeper.raise_if_failed()
            self._check_children(fleet)
            _, shards = _shown_generation(fleet.controller.state)
            current = await reader.read_simulator(now_s, shard_count=shards)
            await self._grow(fleet, current, now_s)
            # A --grow run counts every interaction: its load starts with a ready fleet
            # (before, an interaction to a guild no session covers is never delivered).
            if fleet.load is not None and (fleet.growth is None or self._has_been_ready):
                await fleet.load.keep_running(now_s)
            self._start_community(fleet, current)
            entries = await reader.read_registry()
            running = [w.http_port for w in fleet.generations.all_workers() if w.is_running]
            features = await reader.read_features(running)
            row = self._row(fleet, now_s - started_s, (previous, current), entries, features)
            self.board.show(row, now_s)
            previous = current or previous
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.refresh_s):
                    await self.stop.wait()
        self.board.keep()  # the last status stays above the shutdown messages
        if fleet.load is not None:
            self.board.say("Stopping the load...")
            await fleet.load.stop()
        if fleet.growth is not None and fleet.control is not None:
            await self._report_interactions(fleet.control)

    def _row(
        self,
        fleet: Fleet,
        uptime_s: float,
        samples: tuple[SimSample | None, SimSample | None],
        entries: Sequence[RegistryEntry] | None,
        features: FeatureFigures | None = None,
    ) -> StatusRow:
        state = fleet.controller.state
        shown, shards = _shown_generation(state)
        generations = fleet.generations
        listed: list[tuple[int, int, tuple[int, int]]] = []
        for generation in generations.generations:
            layout = generations.layout_of(generation)
            workers = generations.workers_of(generation)
            if layout is not None:
                running = sum(w.is_running for w in workers)
                listed.append((generation, layout.total_shards, (running, len(workers))))
        all_workers = generations.all_workers()
        previous, current = samples
        added = 0 if fleet.growth is None else fleet.growth.added
        return status_row(
            uptime_s=uptime_s,
            shards_total=shards,
            workers=(sum(w.is_running for w in all_workers), len(all_workers)),
            guilds=None if fleet.guilds is None else fleet.guilds + added,
            previous=previous,
            current=current,
            registry=None
            if entries is None
            else registry_summary(entries, generation=shown, shard_count=shards),
            generations=generation_rows(listed, active=shown, sim=current, entries=entries or ()),
            restarts=fleet.keeper.restarts,
            servers_down=tuple(s.name for s in fleet.servers if s.process.poll() is not None),
            features=features,
            community=None if fleet.community is None else fleet.community.figures,
        )

    def _start_community(self, fleet: Fleet, current: SimSample | None) -> None:
        """Start the showcase once every shard is READY (its setup needs the bot to answer)."""
        community = fleet.community
        if community is None or community.is_started or current is None:
            return
        if current.shards_ready >= fleet.controller.state.active_shards:
            community.start()

    async def _grow(self, fleet: Fleet, current: SimSample | None, now_s: float) -> None:
        """Add guilds once the fleet is ready, until a reshard starts; end the run after it."""
        growth, controller = fleet.growth, fleet.controller
        if growth is None:
            return
        if controller.reshards_completed:
            if self._reshard_done_at_s is None:
                self._reshard_done_at_s = now_s
                self.board.say(
                    f"Grew by {growth.added:,} guilds; the run ends in {_GROW_SETTLE_S:g} s"
                )
            elif now_s - self._reshard_done_at_s >= _GROW_SETTLE_S:
                self.stop.set()
            return
        state = controller.state
        if current is not None and current.shards_ready >= state.active_shards:
            self._has_been_ready = True
        is_on = self._has_been_ready and is_growing(state, controller.reshards_completed)
        if is_on and not self._is_growing:
            self.board.say(
                f"Growing: {growth.rate_per_s:g} guilds/s through the simulator until the "
                f"planner asks for more than {state.active_shards} shards"
            )
        elif self._is_growing and not is_on:
            self.board.say(f"Growth paused after {growth.added:,} new guilds: a reshard started")
        self._is_growing = is_on
        await growth.keep_growing(now_s, is_on=is_on)

    async def _report_interactions(self, control: SimulatorControl) -> None:
        """Print the simulator's interaction counts once the last deadline has passed."""
        try:
            deadline_s = await control.interaction_deadline_s()
            self.board.say(f"Waiting {deadline_s:g} s for the last interactions' deadline...")
            await asyncio.sleep(deadline_s + _DEADLINE_MARGIN_S)  # time passing is the point
            tally = interaction_tally(await control.stats())
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            self.board.say(f"Cannot read the simulator's interaction counts: {exc!r}")
            self.outcome.is_failed = True
            return
        self.board.say(tally_line(tally))
        if not tally.is_exactly_once:
            self.outcome.is_failed = True

    def _is_over(self, uptime_s: float) -> bool:
        duration_s = self.options.duration_s
        if duration_s is not None and uptime_s >= duration_s:
            self.stop.set()  # a timed run ends as if asked to stop
        return self.stop.is_set()

    def _check_children(self, fleet: Fleet) -> None:
        sim = fleet.sim
        if sim is not None and not sim.is_running:
            raise LocalUpError(
                f"the simulator exited with status {sim.process.returncode}; its log:\n"
                f"{log_tail(sim.log_path)}"
            )
        # A worker that exited on its own (the keeper restarts it, maybe between two
        # refreshes): the logs are kept, its own says why.
        if fleet.keeper.restarts or not all(w.is_running for w in fleet.generations.all_workers()):
            self.outcome.is_clean = False
        for server in fleet.servers:
            status = server.process.poll()
            if status is not None and server.name not in self._reported:
                self._reported.add(server.name)
                self.outcome.is_clean = False
                self.board.say(
                    f"{server.name} exited with status {status} (log: {server.log_path}); "
                    "the workers go on without it, as their logs say, and it is not started "
                    "again: stop the run with Ctrl-C"
                )
