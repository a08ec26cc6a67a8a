"""Real hikari against the close codes after which a bot must not reconnect.

hikari turns 4004 and 4010-4014 into ``GatewayServerClosedConnectionError`` with
``can_reconnect`` false and stops the shard: one connection, no retry loop.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import hikari
import pytest

from shoal_sim.discord.server import running_simulator
from tests.integration.sim.gateway.hikari_bots import gateway_bot, running_bot
from tests.integration.sim.gateway.worlds import app_of, small_world

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.settings import SimSettings

_GUILDS = hikari.Intents.GUILDS


@pytest.mark.parametrize(
    ("settings", "intents", "shard_count", "code"),
    [
        (small_world(shard_count_multiple=4), _GUILDS, 2, 4010),
        (small_world(max_guilds_per_shard=5), _GUILDS, 1, 4011),
        (small_world(), _GUILDS | hikari.Intents(1 << 30), 1, 4013),
        (small_world(), _GUILDS | hikari.Intents.GUILD_MEMBERS, 1, 4014),
    ],
    ids=["4010-shard-count", "4011-sharding-required", "4013-unknown-intent", "4014-privileged"],
)
async def test_hikari_stops_with_the_close_code_when_the_identify_is_refused(
    loop_errors: list[dict[str, Any]],
    settings: SimSettings,
    intents: hikari.Intents,
    shard_count: int,
    code: int,
) -> None:
    async with running_simulator(settings) as sim:
        bot = gateway_bot(sim, intents=intents)
        with pytest.raises(hikari.GatewayServerClosedConnectionError) as raised:
            async with running_bot(bot, shard_ids=[0], shard_count=shard_count):
                pass
        connections = sim.stats.connections
    assert raised.value.code == code
    assert not raised.value.can_reconnect
    assert connections == 1
    assert not loop_errors


async def test_hikari_stops_with_4004_when_no_session_start_is_left(
    loop_errors: list[dict[str, Any]], http: aiohttp.ClientSession
) -> None:
    async with running_simulator(small_world(max_concurrency=2)) as sim:
        running = gateway_bot(sim, intents=_GUILDS)
        async with running_bot(running, shard_ids=[0], shard_count=2):
            app = app_of(sim)
            async with http.post(
                f"{sim.base_url}/_sim/applications/{app.id}/session-starts", json={"remaining": 0}
            ) as response:
                assert response.status == 200
            late = gateway_bot(sim, intents=_GUILDS)
            with pytest.raises(hikari.GatewayServerClosedConnectionError) as late_error:
                async with running_bot(
                    late, shard_ids=[1], shard_count=2, ignore_session_start_limit=True
                ):
                    pass
            with pytest.raises(hikari.GatewayServerClosedConnectionError) as running_error:
                async with asyncio.timeout(5):
                    await running.join()
        connections = sim.stats.connections
    assert late_error.value.code == running_error.value.code == 4004
    assert not late_error.value.can_reconnect
    assert connections == 2  # neither bot tried again
    # Closing a bot whose shard died reports that shard's error, and nothing else.
    assert [(e["message"], e["exception"]) for e in loop_errors] == [
        ("shard 0 raised an exception during shut down", running_error.value)
    ]
    loop_errors.clear()
