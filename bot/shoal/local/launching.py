"""Launching a local fleet: start its parts in order, stop them in reverse however it ends.

In order: throwaway Redis and PostgreSQL (or the ones given), migrations, the Discord
simulator in its own process (or the real Discord), the shard plan from
``GET /gateway/bot`` (the operator's plan), the worker processes, the reshard controller
(the operator's planner and reshard machine over the workers), the load and ``--grow``
growth; then :mod:`.supervising` watches the fleet until the run is over, and the exit
stack stops everything in the reverse order: the load, the controller, the workers
(SIGTERM: they close their shards resumably), the simulator, the servers.

Owns the order and what counts as an unclean stop. Does not own any decision
(:mod:`shoal.local.plans`, :mod:`shoal.local.status`), how a child process or server is
run, nor the process-level concerns of ``shoal local up`` (:mod:`.running`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, TypeAlias

import aiohttp
from redis.asyncio import Redis

from shoal.local.banner import banner_text
from shoal.local.discovering import fetch_gateway_bot
from shoal.local.errors import LocalUpError
from shoal.local.keeping import WorkerKeeper
from shoal.local.plans import FleetTargets, plan_fleet
from shoal.local.resharding import ReshardController, ReshardSettings
from shoal.local.servers import MissingBinaryError, ServerStartError, start_postgres, start_redis
from shoal.local.simulating import SimulatorControl, start_simulator
from shoal.local.supervising import (
    Fleet,
    FleetSupervisor,
    RunOutcome,
    community_driver,
    guild_growth,
    load_driver,
)
from shoal.local.watching import FleetReader
from shoal.local.workers import WorkerGenerations, start_workers, stop_workers
from shoal.planning.resharding import ReshardState
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    import asyncio
    from pathlib import Path

    from shoal.local.options import LocalOptions
    from shoal.local.plans import FleetLayout
    from shoal.local.simulating import SimulatorProcess
    from shoal.local.spawning import ServerProcess
    from shoal.local.watching import StatusBoard

__all__ = ["LocalRun", "Migrate"]

Migrate: TypeAlias = Callable[[str], Awaitable[None]]
"""Applies the schema migrations to the PostgreSQL at the given DSN."""

_HTTP_TIMEOUT_S: Final = 10.0  # control API and GET /gateway/bot; the simulator is local


class LocalRun:
    """One run: what was started, stopped in reverse order however the run ends."""

    def __init__(
        self, options: LocalOptions, board: StatusBoard, stop: asyncio.Event, workdir: Path
    ) -> None:
        self.options = options
        self.board = board
        self.stop = stop
        self.workdir = workdir
        self.outcome = RunOutcome()
        self._servers_started: list[ServerProcess] = []

    @property
    def is_stop_requested(self) -> bool:
        """Whether SIGINT, SIGTERM or the run itself asked it to stop."""
        return self.stop.is_set()

    async def run(self, migrate: Migrate | None) -> None:
        """Start everything, watch it until asked to stop, then stop it in reverse order."""
        async with contextlib.AsyncExitStack() as stack:
            try:
                await self._start_and_watch(stack, migrate)
            except (LocalUpError, MissingBinaryError, ServerStartError) as exc:
                # Said before the stack stops what was started: the reason comes first.
                self.board.say(f"shoal local up: {exc}")
                self.outcome.is_clean = False

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
        keeper = WorkerKeeper(
            generations, self.board.say, is_count_fixed=self.options.shards is not None
        )
        keeper.start()
        stack.push_async_callback(keeper.close)  # closed before the workers are stopped
        load = load_driver(self.options, control)
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
        reader = FleetReader(control=control, redis_client=redis_client, keys=keys, http=http)
        growth = guild_growth(self.options, control)
        community = community_driver(self.options, control, self.board.say)
        if community is not None:
            stack.push_async_callback(community.close)  # before the workers are stopped
        fleet = Fleet(
            guilds,
            generations,
            controller,
            sim,
            control,
            load,
            growth,
            keeper,
            servers=tuple(self._servers_started),
            community=community,
        )
        supervisor = FleetSupervisor(self.options, self.board, self.stop, self.outcome)
        await supervisor.watch(reader, fleet)

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
            self._servers_started.append(redis.server)
            stack.callback(self._say_and_call, "Stopping Redis...", redis.stop)
            redis_url = redis.url
        if postgres_dsn is None:
            postgres = start_postgres(self._subdir("pg"))  # short: it holds a unix socket
            self._servers_started.append(postgres.server)
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

    async def _close_controller(self, controller: ReshardController) -> None:
        await controller.close()
        if controller.has_unclean_stop:
            self.outcome.is_clean = False

    async def _stop_workers(self, generations: WorkerGenerations) -> None:
        workers = generations.all_workers()
        self.board.say(f"Stopping {len(workers)} workers (SIGTERM: sessions stay resumable)...")
        running = {w.name for w in workers if w.is_running}
        await stop_workers(workers)
        for worker in workers:
            status = worker.process.returncode
            if worker.name in running and status != 0:
                self.outcome.is_clean = False
                self.board.say(f"Worker {worker.name} stopped with status {status}")

    async def _stop_simulator(self, sim: SimulatorProcess) -> None:
        self.board.say("Stopping the simulator...")
        was_running = sim.is_running
        if await sim.stop() != 0 and was_running:
            self.outcome.is_clean = False
