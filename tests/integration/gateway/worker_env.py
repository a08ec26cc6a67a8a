"""The ``SHOAL_*`` environment of a worker pointed at a simulator and the test Redis.

Used for in-process bots (through ``shoal.config.worker_settings``) and for worker
processes alike, so both are configured exactly as a pod would be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal.config import DEFAULT_INTENTS
from shoal_sim.discord import intents as sim_intents
from shoal_sim.discord.settings import DEFAULT_TOKEN

if TYPE_CHECKING:
    from shoal_sim.discord.server import Simulator

__all__ = ["worker_env"]

_NO_POSTGRES: Final = "postgresql://unused@127.0.0.1:1/unused"


def worker_env(  # noqa: PLR0913 -- one keyword per SHOAL_* setting a test varies
    sim: Simulator,
    *,
    redis_url: str,
    bot_name: str,
    total_shards: int,
    shards_per_pod: int,
    ordinal: int = 0,
    token: str = DEFAULT_TOKEN,
    identify_window_s: float = 5.0,
    postgres_dsn: str = _NO_POSTGRES,
) -> dict[str, str]:
    """Return the environment of pod ``ordinal`` of a fleet of ``total_shards`` shards.

    Without ``postgres_dsn`` the worker gets an address nothing listens on: it runs its
    shards anyway and reports PostgreSQL unreachable once. ``SHOAL_INTENTS`` is the
    worker's default less the privileged intents the simulated application is not
    approved for, as an operator would configure a bot without "Server Members Intent".
    """
    refused = sim_intents.PRIVILEGED & ~sim.settings.privileged_intents
    return {
        "SHOAL_INTENTS": str(DEFAULT_INTENTS & ~refused),
        "SHOAL_TOKEN": token,
        "SHOAL_REST_URL": sim.rest_url,
        "SHOAL_IDENTIFY_WINDOW_S": str(identify_window_s),
        "SHOAL_TOTAL_SHARDS": str(total_shards),
        "SHOAL_SHARDS_PER_POD": str(shards_per_pod),
        "SHOAL_POD_ORDINAL": str(ordinal),
        "SHOAL_POD_NAME": f"shard-worker-{ordinal}",
        "SHOAL_REDIS_URL": redis_url,
        "SHOAL_BOT_NAME": bot_name,
        "SHOAL_POSTGRES_DSN": postgres_dsn,
        "SHOAL_LOG_LEVEL": "INFO",
        "SHOAL_LOG_JSON": "false",
    }
