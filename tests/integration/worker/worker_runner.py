"""One shard worker process for the acceptance tests: ``run_worker`` plus JSON-line reports.

Run as ``python -m tests.integration.worker.worker_runner`` with a pod's ``SHOAL_*``
environment (``SHOAL_IDENTIFY_WINDOW_S`` set to the simulator's window). It
writes ``{"event": "loaded"}`` once imported, waits for a ``start`` line on stdin (so
the test decides when every process starts), then runs the worker as a pod would:
uvloop, SIGTERM sets the stop event, the exit code is ``run_worker``'s. What the bot
sees is reported on stdout, one JSON object per line, with ``t`` (Unix time):

- ``{"event": "starting"}`` when the worker starts,
- ``{"event": "ready", "shard": 0}`` for each READY, ``"resumed"`` for each RESUMED,
- ``{"event": "message", "id": "..."}`` for each guild MESSAGE_CREATE,
- ``{"event": "exit", "code": 0}`` last.

Logs go to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

import hikari
import orjson
import uvloop

from shoal.config import worker_settings
from shoal.gateway.running import run_worker

if TYPE_CHECKING:
    from shoal.gateway.bot import ShardWorkerBot

__all__ = ["main"]


def _report(event: str, **fields: Any) -> None:  # noqa: ANN401 - JSON values
    sys.stdout.write(orjson.dumps({"event": event, "t": time.time(), **fields}).decode() + "\n")
    sys.stdout.flush()


def _listen(bot: ShardWorkerBot) -> None:
    async def on_ready(event: hikari.ShardReadyEvent) -> None:
        _report("ready", shard=event.shard.id)

    async def on_resumed(event: hikari.ShardResumedEvent) -> None:
        _report("resumed", shard=event.shard.id)

    async def on_message(event: hikari.GuildMessageCreateEvent) -> None:
        _report("message", id=str(event.message_id))

    bot.subscribe(hikari.ShardReadyEvent, on_ready)
    bot.subscribe(hikari.ShardResumedEvent, on_resumed)
    bot.subscribe(hikari.GuildMessageCreateEvent, on_message)


async def _run() -> int:
    settings = worker_settings(os.environ)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    _report("loaded")
    if (await stdin.readline()).strip() != b"start":
        return 0
    _report("starting")
    return await run_worker(settings, stop=stop, prepare_bot=_listen)


def main() -> None:
    """Run one worker process as described in the module docstring."""
    logging.basicConfig(
        level=os.environ.get("SHOAL_LOG_LEVEL", "INFO"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    code = uvloop.run(_run())
    _report("exit", code=code)
    sys.exit(code)


if __name__ == "__main__":
    main()
