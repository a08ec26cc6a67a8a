"""``shoal local up``: a whole Shoal fleet on this machine, until Ctrl-C.

The composition root of a local run. In order: throwaway Redis and PostgreSQL (or the ones
given), migrations, the Discord simulator in its own process (or the real Discord), the
shard plan from ``GET /gateway/bot`` (the operator's plan), the worker processes, the
reshard controller (the operator's planner and reshard machine over the workers), a light
load from the simulator's generator, with ``--grow`` new guilds until the fleet reshards,
and a status refreshed every second. SIGINT or SIGTERM (or the end of a ``--grow`` run)
stops everything in the reverse order: the load, the controller, the workers (SIGTERM:
they close their shards resumably), the simulator, the servers. The working directory
(servers' data, every log) is deleted after a clean run and kept, with its path printed,
otherwise.

Owns the order and the exit status. Does not own any decision (:mod:`shoal.local.plans`,
:mod:`shoal.local.status`) nor how a child process or server is run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO, TypeAlias

import aiohttp
from redis.asyncio import Redis

from shoal.local.banner import banner_text
from shoal.local.discovering import fetch_gateway_bot
from shoal.local.errors import LocalUpError
from shoal.local.growing import GuildGrowth
from shoal.local.options import build_local_parser, local_options
from shoal.local.plans import FleetTargets, plan_fleet
from shoal.local.resharding import ReshardController, ReshardSettings
from shoal.local.reshards import (
    active_key_generation,
    expected_shards,
    interaction_tally,
    is_growing,
    tally_line,
)
from shoal.local.servers import MissingBinaryError, ServerStartError, start_postgres, start_redis
from shoal.local.simulating import LoadDriver, LoadRun, SimulatorControl, start_simulator
from shoal.local.spawning import log_tail
from shoal.local.status import generation_rows, registry_summary, status_row
from shoal.local.watching import FleetReader, StatusBoard
from shoal.local.workers import WorkerGenerations, WorkerProcess, start_workers, stop_workers
from shoal.planning.resharding import ReshardState
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from shoal.gateway.registry import RegistryEntry
    from shoal.local.options import LocalOptions
    from shoal.local.plans import FleetLayout
    from shoal.local.simulating import SimulatorProcess
    from shoal.local.status import SimSample, StatusRow

__all__ = ["Migrate", "local_up", "run_local_up"]

Migrate: TypeAlias = Callable[[str], Awaitable[None]]
"""Applies the schema migrations to the PostgreSQL at the given DSN."""

_LOAD_RUN_S: Final = 60.0  # one load generator run; renewed before it ends
_HTTP_TIMEOUT_S: Final = 10.0  # control API and GET /gateway/bot; the simulator is local
_WORKDIR_MODE: Final = 0o711  # as root, the postgres account must reach its subdirectory
_GROW_SETTLE_S: Final = 5.0  # after the reshard, the load runs on the new generation alone
_DEADLINE_MARGIN_S: Final = 0.5  # past the interaction deadline, the simulator has counted


async def local_up(
    options: LocalOptions,
    *,
    migrate: Migrate | None = None,
    stream: TextIO | None = None,
) -> int:
    """Run a local fleet until SIGINT or SIGTERM (or ``options.duration_s``).

    Run it on the main thread's event loop: it handles SIGINT and SIGTERM while it runs,
    and its children are tied to the thread that started them (PR_SET_PDEATHSIG).

    Args:
        options: What to run.
        migrate: Applies the schema to the fleet's PostgreSQL before the workers start.
        stream: Where the status goes (default stdout; a terminal gets a live table).

    Returns:
        0 after a requested stop, 1 when the run could not start or go on (the reason is
        written to the stream).
    """
    out = stream or sys.stdout
    board = StatusBoard(out, is_live=out.isatty())
    stop = asyncio.Event()
    workdir = _make_workdir()
    run = _LocalRun(options, board, stop, workdir)
    with _stop_on_signals(stop):
        await run.run(migrate)
    if run.is_clean and not run.is_failed:
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    board.say(f"Logs and data kept in {workdir}")
    return 0 if run.is_stop_requested and not run.is_failed else 1


def run_local_up(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    migrate: Migrate | None = None,
    prog: str = "shoal local up",
) -> int:
    """Parse ``shoal local up`` arguments and run it in a new event loop; return the status."""
    parser = build_local_parser(prog)
    args = parser.parse_args(argv)
    try:
        options = local_options(args, environ)
    except ValueError as exc:
        parser.error(str(exc))
    return asyncio.run(local_up(options, migrate=migrate))


def _shown_generation(state: ReshardState) -> tuple[int, int]:
    """Return the generation the status leads with (the key's) and its shard count."""
    generation = active_key_generation(state)
    return generation, expected_shards(state).get(generation, state.active_shards)


def _make_workdir() -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="shoal-local-"))
    workdir.chmod(_WORKDIR_MODE)
    return workdir


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


@dataclasses.dataclass(frozen=True, slots=True)
class _Fleet:
    """What the status loop watches."""

    guilds: int | None
    generations: WorkerGenerations
    controller: ReshardController
    sim: SimulatorProcess | None
    control: SimulatorControl | None
    load: LoadDriver | None
    growth: GuildGrowth | None


class _LocalRun:
    """One run: what was started, stopped in reverse order however the run ends."""

    def __init__(
        self, options: LocalOptions, board: StatusBoard, stop: asyncio.Event, workdir: Path
    ) -> None:
        self.options = options
        self.board = board
        self.stop = stop
        self.workdir = workdir
        self.is_clean = True
        """False once something failed or exited on its own: the logs are then kept."""
        self.is_failed = False
        """True when a ``--grow`` run left an interaction unanswered or answered twice."""
        self._reported: set[str] = set()
        self._is_growing = False
        self._has_been_ready = False
        self._reshard_done_at_s: float | None = None

    @property
    def is_stop_requested(self) -> bool:
        return self.stop.is_set()

    async def run(self, migrate: Migrate | None) -> None:
        """Start everything, watch it until asked to stop, then stop it in reverse order."""
        async with contextlib.AsyncExitStack() as stack:
            try:
                await self._start_and_watch(stack, migrate)
            except (LocalUpError, MissingBinaryError, ServerStartError) as exc:
                # Said before the stack stops what was started: the reason comes first.
                self.board.say(f"shoal local up: {exc}")
                self.is_clean = False

    async def _start_and_watch(
        self, stack: contextlib.AsyncExitStack, migrate: Migrate | None
    ) -> None:
        redis_url, postgres_dsn = self._servers(stack)
        if migrate is not None and not self.stop.is_set():
            await self._migrate(migrate, postgres_dsn)
        http = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_HTTP_TIMEOUT_S))
        )
        if self.stop.is_set():
            return
        sim, control = await self._discord(stack, http)
        token, guilds = await self._bot(control)
        rest_url = self.options.rest_url if sim is None else sim.rest_url
        gateway = await fetch_gateway_bot(http, rest_url, token)
        layout = self._layout(guilds, gateway.max_concurrency, gateway.recommended_shards)
        if self.stop.is_set():
            return
        targets = FleetTargets(
            token,
            rest_url,
            redis_url,
            postgres_dsn,
            self.options.bot_name,
            identify_window_s=None if sim is None else self.options.identify_window_s,
        )
        workers = await start_workers(layout, targets, self.options.worker_command, self.workdir)
        generations = WorkerGenerations(
            targets,
            self.options.worker_command,
            self.workdir,
            shards_per_worker=self.options.shards_per_worker,
        )
        generations.adopt(0, layout, workers)
        stack.push_async_callback(self._stop_workers, generations)
        load = self._load(control)
        self.board.say(
            banner_text(
                targets=targets,
                simulator_url=None if sim is None else sim.base_url,
                guilds=guilds,
                layout=layout,
                workers=workers,
                load=None if load is None else load.run,
                workdir=self.workdir,
            )
        )
        redis_client = Redis.from_url(redis_url, decode_responses=True)
        stack.push_async_callback(redis_client.aclose)
        keys = RedisKeys(self.options.bot_name)
        controller = ReshardController(
            generations=generations,
            redis_client=redis_client,
            keys=keys,
            http=http,
            rest_url=rest_url,
            token=token,
            state=ReshardState(active_shards=layout.total_shards),
            settings=ReshardSettings(
                interval_s=self.options.reshard_interval_s, fixed_shards=self.options.shards
            ),
            say=self.board.say,
        )
        controller.start()
        stack.push_async_callback(self._close_controller, controller)
        reader = FleetReader(control=control, redis_client=redis_client, keys=keys)
        growth = self._growth(control)
        fleet = _Fleet(guilds, generations, controller, sim, control, load, growth)
        await self._watch(reader, fleet)

    async def _migrate(self, migrate: Migrate, postgres_dsn: str) -> None:
        self.board.say("Applying migrations...")
        try:
            await migrate(postgres_dsn)
        except Exception as exc:
            raise LocalUpError(f"migrations failed: {exc!r}") from exc

    def _servers(self, stack: contextlib.AsyncExitStack) -> tuple[str, str]:
        # Blocking (a second or two) on purpose: a server must be started from the thread
        # that outlives it (PR_SET_PDEATHSIG), and nothing else runs yet.
        redis_url, postgres_dsn = self.options.redis_url, self.options.postgres_dsn
        if redis_url is None or postgres_dsn is None:
            self.board.say("Starting throwaway Redis and PostgreSQL...")
        if redis_url is None:
            redis = start_redis(self._subdir("redis"))
            stack.callback(self._say_and_call, "Stopping Redis...", redis.stop)
            redis_url = redis.url
        if postgres_dsn is None:
            postgres = start_postgres(self._subdir("pg"))  # short: it holds a unix socket
            stack.callback(self._say_and_call, "Stopping PostgreSQL...", postgres.stop)
            postgres_dsn = postgres.url
        return redis_url, postgres_dsn

    def _subdir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir()
        return path

    def _say_and_call(self, message: str, stop: Callable[[], object]) -> None:
        self.board.say(message)
        stop()

    async def _discord(
        self, stack: contextlib.AsyncExitStack, http: aiohttp.ClientSession
    ) -> tuple[SimulatorProcess | None, SimulatorControl | None]:
        if not self.options.is_simulated:
            return None, None
        self.board.say(f"Starting the Discord simulator with {self.options.guilds:,} guilds...")
        sim = await start_simulator(self.options, self.workdir)
        stack.push_async_callback(self._stop_simulator, sim)
        return sim, SimulatorControl(http, sim.base_url)

    async def _bot(self, control: SimulatorControl | None) -> tuple[str, int | None]:
        if control is None:
            if self.options.token is None:  # LocalOptions refuses this; kept for the type
                raise LocalUpError("--no-simulator needs --token")
            return self.options.token, None
        token, guilds = await control.bot()
        return self.options.token or token, guilds

    def _layout(self, guilds: int | None, max_concurrency: int, recommended: int) -> FleetLayout:
        try:
            return plan_fleet(
                guilds or 0,  # unknown against Discord: its recommendation decides
                max_concurrency=max_concurrency,
                recommended_shards=recommended,
                shards=self.options.shards,
                shards_per_worker=self.options.shards_per_worker,
            )
        except ValueError as exc:
            raise LocalUpError(f"cannot plan the fleet: {exc}") from exc

    async def _watch(self, reader: FleetReader, fleet: _Fleet) -> None:
        loop = asyncio.get_running_loop()
        started_s = loop.time()
        previous = None
        while not self._is_over(loop.time() - started_s):
            now_s = loop.time()
            fleet.controller.raise_if_failed()
            self._check_children(fleet.generations.all_workers(), fleet.sim)
            _, shards = _shown_generation(fleet.controller.state)
            current = await reader.read_simulator(now_s, shard_count=shards)
            await self._grow(fleet, current, now_s)
            # A --grow run counts every interaction: its load starts with a ready fleet
            # (before, an interaction to a guild no session covers is never delivered).
            if fleet.load is not None and (fleet.growth is None or self._has_been_ready):
                await fleet.load.keep_running(now_s)
            entries = await reader.read_registry()
            row = self._row(fleet, now_s - started_s, (previous, current), entries)
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
        fleet: _Fleet,
        uptime_s: float,
        samples: tuple[SimSample | None, SimSample | None],
        entries: Sequence[RegistryEntry] | None,
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
        )

    def _growth(self, control: SimulatorControl | None) -> GuildGrowth | None:
        rate = self.options.grow_guilds_per_s
        if control is None or rate is None:
            return None
        return GuildGrowth(control, rate_per_s=rate, members=self.options.members_per_guild)

    async def _grow(self, fleet: _Fleet, current: SimSample | None, now_s: float) -> None:
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
            self.is_failed = True
            return
        self.board.say(tally_line(tally))
        if not tally.is_exactly_once:
            self.is_failed = True

    def _is_over(self, uptime_s: float) -> bool:
        duration_s = self.options.duration_s
        if duration_s is not None and uptime_s >= duration_s:
            self.stop.set()  # a timed run ends as if asked to stop
        return self.stop.is_set()

    def _load(self, control: SimulatorControl | None) -> LoadDriver | None:
        options = self.options
        if control is None or (options.messages_per_s == 0 and options.interactions_per_s == 0):
            return None
        run = LoadRun(
            messages_per_s=options.messages_per_s,
            interactions_per_s=options.interactions_per_s,
            duration_s=_LOAD_RUN_S,
            commands=options.commands,
        )
        return LoadDriver(control, run)

    def _check_children(
        self, workers: Sequence[WorkerProcess], sim: SimulatorProcess | None
    ) -> None:
        if sim is not None and not sim.is_running:
            raise LocalUpError(
                f"the simulator exited with status {sim.process.returncode}; its log:\n"
                f"{log_tail(sim.log_path)}"
            )
        for worker in workers:
            if not worker.is_running and worker.name not in self._reported:
                self._reported.add(worker.name)
                self.is_clean = False
                self.board.say(
                    f"Worker {worker.name} exited with status {worker.process.returncode} "
                    f"(log: {worker.log_path})"
                )
        if workers and not any(worker.is_running for worker in workers):
            raise LocalUpError(
                f"every worker exited; the end of {workers[0].name}'s log:\n"
                f"{log_tail(workers[0].log_path)}"
            )

    async def _close_controller(self, controller: ReshardController) -> None:
        await controller.close()
        if controller.has_unclean_stop:
            self.is_clean = False

    async def _stop_workers(self, generations: WorkerGenerations) -> None:
        workers = generations.all_workers()
        self.board.say(f"Stopping {len(workers)} workers (SIGTERM: sessions stay resumable)...")
        running = {w.name for w in workers if w.is_running}
        await stop_workers(workers)
        for worker in workers:
            status = worker.process.returncode
            if worker.name in running and status != 0:
                self.is_clean = False
                self.board.say(f"Worker {worker.name} stopped with status {status}")

    async def _stop_simulator(self, sim: SimulatorProcess) -> None:
        self.board.say("Stopping the simulator...")
        was_running = sim.is_running
        if await sim.stop() != 0 and was_running:
            self.is_clean = False
