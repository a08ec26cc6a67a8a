"""A process that owns an image pool, for the test that SIGKILLs it (run with -m).

Starts a 2-worker pool, prints the workers' pids on one line, then waits to be killed.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from shoal.kit.images import ImagePool, ImagePoolSettings
from tests.integration.kit.image_functions import pid_after


async def _serve() -> None:
    pool = ImagePool(CollectorRegistry(), ImagePoolSettings(workers=2))
    await pool.start()
    pids = await asyncio.gather(*(pool.render("pid", str(n), pid_after, 0.3) for n in range(2)))
    print(" ".join(pid.decode() for pid in pids), flush=True)  # noqa: T201 -- read by the test
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve())
