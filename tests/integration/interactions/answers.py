"""Injecting commands through the simulator's control API and reading their answers."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.sim.control.control_api import ControlApi

__all__ = ["EPHEMERAL", "answer_of", "inject_click", "inject_command"]

EPHEMERAL: Final = 1 << 6
_POLL_S: Final = 0.01
_WAIT_S: Final = 5.0


async def inject_command(
    control: ControlApi,
    guild_id: int,
    name: str,
    *,
    user_id: int | None = None,
    sessions: int = 1,
) -> str:
    """Inject ``/name`` in ``guild_id`` to ``sessions`` shards; return its id."""
    body: dict[str, Any] = {"type": "command", "guild_id": str(guild_id), "name": name}
    if user_id is not None:
        body["user_id"] = str(user_id)
    injected = await control.call("POST", "/interactions", json=body, expect=201)
    assert injected["sessions_reached"] == sessions, injected
    interaction_id: str = injected["id"]
    return interaction_id


async def answer_of(
    control: ControlApi,
    interaction_id: str,
    *,
    until: Callable[[dict[str, Any]], bool] | None = None,
    timeout_s: float = _WAIT_S,
) -> dict[str, Any]:
    """Poll ``/_sim/interactions/{id}`` until it is answered (and ``until`` holds)."""
    deadline = time.monotonic() + timeout_s
    while True:
        state: dict[str, Any] = await control.call(
            "GET", f"/interactions/{interaction_id}", expect=200
        )
        if state["response_type"] is not None and (until is None or until(state)):
            return state
        if time.monotonic() > deadline:
            msg = f"interaction {interaction_id} not answered in {timeout_s} s: {state}"
            raise AssertionError(msg)
        await asyncio.sleep(_POLL_S)


async def inject_click(
    control: ControlApi,
    guild_id: int,
    custom_id: str,
    *,
    user_id: int | None = None,
    component_type: str = "button",
    values: list[str] | None = None,
    sessions: int = 1,
) -> str:
    """Inject a click on a component with ``custom_id`` in ``guild_id``; return its id."""
    body: dict[str, Any] = {
        "type": "component",
        "guild_id": str(guild_id),
        "custom_id": custom_id,
        "component_type": component_type,
    }
    if user_id is not None:
        body["user_id"] = str(user_id)
    if values is not None:
        body["values"] = values
    injected = await control.call("POST", "/interactions", json=body, expect=201)
    assert injected["sessions_reached"] == sessions, injected
    interaction_id: str = injected["id"]
    return interaction_id
