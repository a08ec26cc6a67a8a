"""The features' runtime: taps fed from raw dispatches on the active generation, hooks in order."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from shoal.interactions.modules import Module
from shoal.kit.guilds import GuildSeen
from shoal.kit.running import FeatureRuntime

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    import pytest

    from shoal.kit.messages import MessageFacts

_MESSAGE = {
    "id": "1",
    "channel_id": "2",
    "guild_id": "3",
    "author": {"id": "4"},
    "member": {"roles": []},
    "content": "hi",
}


@dataclasses.dataclass
class _View:
    is_active: bool = True

    @property
    def answers_unclaimed(self) -> bool:
        return self.is_active


def _message(message_id: int) -> dict[str, Any]:
    return {**_MESSAGE, "id": str(message_id)}


def test_taps_get_message_facts_while_active_and_for_the_handover_after() -> None:
    seen: list[MessageFacts] = []
    view = _View()
    now = [100.0]
    runtime = FeatureRuntime(
        [Module(name="a", message_taps=(seen.append,))],
        generation=view,
        handover_s=2.5,
        clock=lambda: now[0],
    )
    assert runtime.feed("MESSAGE_CREATE", _message(1))
    assert runtime.feed("GUILD_CREATE", {})
    view.is_active = False  # the switch, as this worker read it
    assert runtime.feed("MESSAGE_CREATE", _message(2))  # the new generation may not know yet
    now[0] += 2.4
    runtime.feed("MESSAGE_CREATE", _message(3))
    now[0] += 0.2  # the handover is over
    runtime.feed("MESSAGE_CREATE", _message(4))
    now[0] += 100.0
    runtime.feed("MESSAGE_CREATE", _message(5))
    assert [facts.message_id for facts in seen] == [1, 2, 3]


def test_a_generation_never_active_never_taps() -> None:
    seen: list[MessageFacts] = []
    runtime = FeatureRuntime(
        [Module(name="a", message_taps=(seen.append,))], generation=_View(is_active=False)
    )
    runtime.feed("MESSAGE_CREATE", _MESSAGE)
    assert seen == []


def test_a_failing_tap_is_logged_once_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[int] = []

    def broken(_: MessageFacts) -> None:
        msg = "tap bug"
        raise RuntimeError(msg)

    modules = [
        Module(name="a", message_taps=(broken,)),
        Module(name="b", message_taps=(lambda facts: seen.append(facts.message_id),)),
    ]
    runtime = FeatureRuntime(modules, generation=_View())
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            runtime.feed("MESSAGE_CREATE", _MESSAGE)
    assert seen == [1, 1, 1]
    assert len([r for r in caplog.records if "message tap" in r.getMessage()]) == 1


def test_guild_taps_get_every_guild_create_and_update_on_any_generation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[GuildSeen] = []

    def broken(_: GuildSeen) -> None:
        msg = "tap bug"
        raise RuntimeError(msg)

    view = _View(is_active=False)  # a new generation connecting, still passive
    runtime = FeatureRuntime([Module(name="a", guild_taps=(broken, seen.append))], generation=view)
    with caplog.at_level(logging.ERROR):
        assert runtime.feed("GUILD_CREATE", {"id": "1", "name": "one", "features": []})
        assert runtime.feed("GUILD_CREATE", {"id": "2", "unavailable": True})  # an outage
        view.is_active = True
        assert runtime.feed("GUILD_UPDATE", {"id": "1", "name": "renamed", "features": ["X"]})
        assert runtime.feed("MESSAGE_CREATE", _MESSAGE)  # not a guild's description
    assert seen == [GuildSeen(1, "one", frozenset()), GuildSeen(1, "renamed", frozenset({"X"}))]
    assert len([r for r in caplog.records if "guild tap" in r.getMessage()]) == 1


async def test_hooks_run_in_module_order_at_start_and_reverse_at_stop() -> None:
    order: list[str] = []

    def hook(label: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            order.append(label)

        return run

    modules = [
        Module(name="a", on_start=(hook("start a"),), on_stop=(hook("stop a"),)),
        Module(name="b", on_start=(hook("start b"),), on_stop=(hook("stop b"),)),
    ]
    runtime = FeatureRuntime(modules, generation=_View())
    await runtime.start()
    await runtime.stop()
    assert order == ["start a", "start b", "stop b", "stop a"]


async def test_a_stuck_or_failing_stop_hook_never_keeps_the_others_from_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def stuck() -> None:
        await asyncio.sleep(10)

    async def failing() -> None:
        msg = "flush failed"
        raise RuntimeError(msg)

    async def flush() -> None:
        ran.append("flush")

    modules = [
        Module(name="a", on_stop=(flush,)),
        Module(name="b", on_stop=(failing,)),
        Module(name="c", on_stop=(stuck,)),
    ]
    runtime = FeatureRuntime(modules, generation=_View(), hook_timeout_s=0.05)
    with caplog.at_level(logging.ERROR):
        await runtime.stop()
    assert ran == ["flush"]
    messages = [record.getMessage() for record in caplog.records]
    assert any("did not finish within" in m for m in messages)
    assert any("failed" in m for m in messages)
