"""``/settings`` on real hikari: modules switched, typed settings shown, changed, refused, reset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pydantic

from shoal.features.core import core_module
from shoal.interactions.modules import Module
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.answers import EPHEMERAL, answer_of
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys


class _GreeterSettings(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    greeting: str = pydantic.Field("Hello", max_length=20, description="What it says.")
    channel_id: int | None = pydantic.Field(None, description="Where it says it.")
    loud: bool = False


def _greeter() -> Module:
    return Module(name="greeter", title="Greeter", settings=_GreeterSettings)


async def _settings(control: ControlApi, guild: int, sub: str, **options: Any) -> dict[str, Any]:  # noqa: ANN401
    body = {
        "type": "command",
        "guild_id": str(guild),
        "name": "settings",
        "options": [
            {
                "type": 1,
                "name": sub,
                "options": [
                    {"type": 3, "name": name, "value": value} for name, value in options.items()
                ],
            }
        ],
    }
    injected = await control.call("POST", "/interactions", json=body, expect=201)
    answer = await answer_of(control, injected["id"])
    original: dict[str, Any] = answer["original"]
    assert original["flags"] & EPHEMERAL
    return original


async def test_settings_change_validate_and_reset_a_module_when_an_admin_uses_them(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module],
            modules=[_greeter()],
        ) as worker,
    ):
        control = ControlApi(http, sim)
        guild = min(sim.world.guilds)
        channel = next(iter(sim.world.structure(sim.world.guilds[guild])[1]))
        saved = await _settings(
            control, guild, "set", module="greeter", field="greeting", value="Hi"
        )
        mention = await _settings(
            control, guild, "set", module="greeter", field="channel_id", value=f"<#{channel}>"
        )
        loud = await _settings(control, guild, "set", module="greeter", field="loud", value="on")
        too_long = await _settings(
            control, guild, "set", module="greeter", field="greeting", value="x" * 21
        )
        unknown = await _settings(control, guild, "set", module="greeter", field="nope", value="1")
        shown = await _settings(control, guild, "show", module="greeter")
        stored = await worker.kit.settings.get(guild, _GreeterSettings, "greeter")
        await _settings(control, guild, "reset", module="greeter", field="greeting")
        after_reset = await worker.kit.settings.get(guild, _GreeterSettings, "greeter")
        off = await _settings(control, guild, "module", module="greeter", state="off")
        is_on = await worker.kit.settings.is_enabled(guild, "greeter", is_on_by_default=True)
        core_off = await _settings(control, guild, "module", module="core", state="off")
        listed = await _settings(control, guild, "modules")
    assert saved["content"] == "Saved: `greeter.greeting` is now `Hi`."
    assert mention["content"] == f"Saved: `greeter.channel_id` is now `{channel}`."
    assert loud["content"] == "Saved: `greeter.loud` is now `on`."
    assert too_long["content"].startswith(
        "Not saved: `greeter.greeting` String should have at most"
    )
    assert unknown["content"].startswith(
        "Not saved: `greeter.nope` is not a setting of this module"
    )
    fields = {field["name"]: field["value"] for field in shown["embeds"][0]["fields"]}
    assert fields["greeting"].startswith("`Hi` (default `Hello`)")
    assert stored == _GreeterSettings(greeting="Hi", channel_id=channel, loud=True)
    assert after_reset == _GreeterSettings(channel_id=channel, loud=True)
    assert off["content"] == "Greeter is now **off** in this server."
    assert is_on is False
    assert core_off["content"] == "Core cannot be turned off."
    assert "**Greeter** (`greeter`): off" in listed["embeds"][0]["description"]
