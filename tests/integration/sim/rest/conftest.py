"""Fixtures of the REST tests: an HTTP session and a simulator with members and moderation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import pytest

from shoal_sim.discord import intents
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from tests.integration.sim.rest.api import Api
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for one test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A small simulator whose bot is approved for GUILD_MEMBERS and MESSAGE_CONTENT."""
    settings = SimSettings(
        guilds=20, privileged_intents=intents.GUILD_MEMBERS | intents.MESSAGE_CONTENT
    )
    async with running_simulator(settings) as simulator:
        yield simulator


@pytest.fixture
def api(http: aiohttp.ClientSession, sim: Simulator) -> Api:
    """The bot's REST client for ``sim``, checking replies against the OpenAPI spec."""
    return Api(http, sim, spec=load_spec())


@pytest.fixture
def guild(sim: Simulator) -> Guild:
    """A guild of the default bot."""
    return next(sim.world.guilds_of(next(iter(sim.world.applications.values()))))
