"""Loading feature modules into an arc client, and the payloads sync-commands sends."""

from __future__ import annotations

import logging

import arc
import hikari
import pytest

from shoal.features.core import core_module
from shoal.interactions.claiming import ClaimOutcome
from shoal.interactions.gating import ListenerGate
from shoal.interactions.limits import RateLimitRule, RateLimitScope
from shoal.interactions.modules import (
    Listener,
    Module,
    _guarded,
    load_modules,
    rate_limits_of,
    top_level_commands,
)
from shoal.interactions.syncing import command_builders
from shoal.kit.building import declaring_kit

_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.c2VjcmV0LXRva2VuLWZvci10ZXN0cw"  # noqa: S105 - fake


async def _noop(_: arc.GatewayContext) -> None:
    """A command body."""


async def _on_message(_: hikari.GuildMessageCreateEvent) -> None:
    """A listener body."""


class _AlwaysClaimed:
    async def claim(self, interaction_id: int) -> ClaimOutcome:
        return ClaimOutcome.WON if interaction_id else ClaimOutcome.LOST


class _Active:
    is_active = True
    answers_unclaimed = True


_GATE = ListenerGate(claims=_AlwaysClaimed(), generation=_Active())


def _client() -> arc.GatewayClient:
    bot = hikari.GatewayBot(_TOKEN, banner=None, logs=None, suppress_optimization_warning=True)
    return arc.GatewayClient(bot, autosync=False, autodefer=False)


def _module(name: str, *commands: str) -> Module:
    plugin = arc.GatewayPlugin(name)
    for command in commands:
        plugin.include(arc.slash_command(command, "A command.")(_noop))
    return Module(name=name, plugins=(plugin,))


def test_load_modules_adds_plugins_and_listeners_when_names_are_unique() -> None:
    client = _client()
    listening = Module(
        name="logs", listeners=(Listener(hikari.GuildMessageCreateEvent, _on_message),)
    )
    load_modules(
        client, [core_module(declaring_kit("test")), _module("fun", "roll"), listening], gate=_GATE
    )
    assert set(client.plugins) == {"core", "fun"}
    assert {c.name for c in top_level_commands(client)} == {"ping", "shard", "settings", "roll"}
    subscribed = client.app.event_manager.get_listeners(hikari.GuildMessageCreateEvent)
    # Subscribed wrapped by the gate, never as given.
    assert _on_message not in subscribed
    assert [getattr(c, "__wrapped__", None) for c in subscribed] == [_on_message]


def test_load_modules_leaves_listeners_out_when_given_no_gate() -> None:
    client = _client()
    listening = Module(
        name="logs", listeners=(Listener(hikari.GuildMessageCreateEvent, _on_message),)
    )
    load_modules(client, [listening], gate=None)
    assert not client.app.event_manager.get_listeners(hikari.GuildMessageCreateEvent)


def test_load_modules_refuses_when_two_modules_share_a_name() -> None:
    with pytest.raises(ValueError, match="module names must be unique, repeated: fun"):
        load_modules(_client(), [_module("fun", "a"), _module("fun", "b")], gate=_GATE)


def test_load_modules_refuses_when_two_modules_share_a_command_name() -> None:
    with pytest.raises(ValueError, match=r"command names must be unique .* ping"):
        load_modules(
            _client(), [core_module(declaring_kit("test")), _module("other", "ping")], gate=_GATE
        )


def test_rate_limits_of_merges_the_modules_rules_when_several_set_some() -> None:
    rule = RateLimitRule(RateLimitScope.USER, limit=1, window_s=5.0)
    modules = [
        Module(name="a", rate_limits={"roll": (rule,)}),
        Module(name="b", rate_limits={"quiz": ()}),
    ]
    assert rate_limits_of(modules) == {"roll": (rule,), "quiz": ()}


def test_command_builders_describe_every_command_when_given_modules() -> None:
    builders = command_builders(
        _TOKEN, [core_module(declaring_kit("test")), _module("fun", "roll")]
    )
    assert sorted(b.name for b in builders) == ["ping", "roll", "settings", "shard"]
    ping = next(b for b in builders if b.name == "ping")
    assert isinstance(ping, hikari.api.SlashCommandBuilder)
    assert ping.description == "Show the gateway and REST latency."
    assert ping.options == []
    assert ping.id is hikari.UNDEFINED


def test_listener_is_refused_when_its_event_type_is_not_a_hikari_event() -> None:
    with pytest.raises(TypeError, match="must be a hikari event class"):
        Listener(int, _on_message)


async def test_a_listener_skips_events_with_one_warning_when_its_switch_cannot_be_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenSwitch:
        async def is_enabled(self, guild_id: int, module: str, *, is_on_by_default: bool) -> bool:
            msg = f"guild {guild_id} {module} {is_on_by_default}: relation does not exist"
            raise RuntimeError(msg)

    seen: list[object] = []

    async def record(event: object) -> None:
        seen.append(event)

    module = Module(name="feature", listeners=(Listener(hikari.GuildAvailableEvent, record),))
    guarded = _guarded(module, module.listeners[0], switch=BrokenSwitch(), event_claims=None)
    event = type("Event", (), {"guild_id": 5})()
    with caplog.at_level(logging.WARNING, logger="shoal.interactions.modules"):
        await guarded(event)
        await guarded(event)
    assert seen == []
    lines = [r for r in caplog.records if "listeners skip events" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].exc_info is None
