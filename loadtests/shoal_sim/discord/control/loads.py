"""Control routes for the load generator: start a run, read the runs, stop them all.

Owns ``POST``/``GET``/``DELETE /_sim/load`` and the generators they started (their tasks
are the simulator's background tasks). What a run sends is
:mod:`shoal_sim.discord.loadgen`'s.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from shoal_sim.discord.control import inputs
from shoal_sim.discord.loadgen import LoadGenerator, LoadSpec

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.server import Simulator

__all__ = ["LoadHandlers"]


class LoadHandlers:
    """Load-generator handlers bound to one simulator, and the runs they started."""

    def __init__(self, sim: Simulator) -> None:
        """Run load against ``sim``."""
        self.sim = sim
        self.loads: list[LoadGenerator] = []
        self._load_tasks: list[asyncio.Task[None]] = []

    async def start_load(self, request: web.Request) -> web.Response:
        """Start a load generator run from the body's spec."""
        body = await inputs.read_body(request)
        commands = body.get("commands", ["ping"])
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            return inputs.error_response("commands must be a list of command names")
        app_id = (
            None if body.get("application_id") is None else inputs.application_of(self.sim, body).id
        )
        try:
            spec = LoadSpec(
                messages_per_s=float(body.get("messages_per_s", 0)),
                interactions_per_s=float(body.get("interactions_per_s", 0)),
                duration_s=float(body.get("duration_s", 60)),
                zipf_s=float(body.get("zipf_s", 1.1)),
                commands=tuple(commands),
                seed=int(body.get("seed", 1)),
                application_id=app_id,
            )
        except (TypeError, ValueError) as exc:
            return inputs.error_response(f"bad load spec: {exc}")
        generator = LoadGenerator(self.sim, spec)
        self.loads.append(generator)
        self._load_tasks.append(self.sim.spawn(self._run_load(generator)))
        # One step of the loop starts the run: the answer shows it running, and a stop that
        # follows always finds it inside run() (a task cancelled before its first step
        # would never record its end).
        await asyncio.sleep(0)
        return inputs.json_response({"index": len(self.loads) - 1, **generator.as_json()}, 201)

    async def _run_load(self, generator: LoadGenerator) -> None:
        await generator.run()

    async def load_status(self, _: web.Request) -> web.Response:
        """Answer every run started, running or not."""
        return inputs.json_response([g.as_json() for g in self.loads])

    async def stop_load(self, _: web.Request) -> web.Response:
        """Stop every run and answer their final state."""
        # Only the generators' tasks (the simulator may own others), awaited so that the
        # answer shows them stopped.
        tasks, self._load_tasks = self._load_tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return inputs.json_response([g.as_json() for g in self.loads])
