"""Fixtures of the control API tests: a simulator that lets any shard layout identify at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import pytest

from shoal_sim.discord import intents
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.rest.api import Api

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator

#: Guilds of the default simulator: enough for every shard of two and for a Zipf spread.
GUILDS = 20


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for one test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A small simulator approved for message content, identifying 16 buckets at once."""
    settings = SimSettings(
        guilds=GUILDS,
        max_concurrency=16,
        privileged_intents=intents.GUILD_MEMBERS | intents.MESSAGE_CONTENT,
    )
    async with running_simulator(settings) as simulator:
        yield simulator


@pytest.fixture
def control(http: aiohttp.ClientSession, sim: Simulator) -> ControlApi:
    """The control API of ``sim``."""
    return ControlApi(http, sim)


@pytest.fixture
def api(http: aiohttp.ClientSession, sim: Simulator) -> Api:
    """The bot's REST client for ``sim`` (replies are not checked against the spec here)."""
    return Api(http, sim)


@pytest.fixture
def guild(sim: Simulator) -> Guild:
    """The guild with the smallest id of the default bot (on shard 0 of 1)."""
    return sim.world.guilds[min(sim.world.guilds)]
