"""A small REST client for the simulator's tests: templates in, checked replies out.

Calls take Discord's route template and its parameters, so every reply can be checked
against the OpenAPI spec for that template (:class:`tests.integration.sim.rest.spec.ResponseSpec`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import orjson

from shoal_sim.discord.entities import Interaction
from shoal_sim.discord.settings import DEFAULT_TOKEN

if TYPE_CHECKING:
    from collections.abc import Mapping

    import aiohttp
    from multidict import CIMultiDictProxy

    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.rest.spec import ResponseSpec

__all__ = ["Api", "Reply", "new_interaction"]


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """A response: status, headers and the decoded JSON body (None when empty)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: Any
    content_type: str


class Api:
    """Calls the simulator's REST API as a bot, checking replies against the spec."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        sim: Simulator,
        *,
        spec: ResponseSpec | None = None,
        token: str = DEFAULT_TOKEN,
    ) -> None:
        """Call ``sim`` through ``session``; with ``spec``, every JSON reply is validated."""
        self._session = session
        self._sim = sim
        self._spec = spec
        self.token = token
        self.checked: set[str] = set()
        """``METHOD template status`` of every reply validated against the spec."""

    async def call(  # noqa: PLR0913 - the parts of an HTTP request, all keyword-only
        self,
        method: str,
        template: str,
        *,
        expect: int | None = None,
        path: Mapping[str, object] | None = None,
        query: dict[str, str] | None = None,
        json: object = None,
        data: aiohttp.FormData | None = None,
        headers: dict[str, str] | None = None,
        is_authorised: bool = True,
    ) -> Reply:
        """Call ``template`` with ``path`` parameters; check ``expect`` and the spec.

        Raises:
            AssertionError: when the status is not ``expect`` or the body breaks the spec.
        """
        url = self._sim.rest_url + template.format(**(path or {}))
        sent = dict(headers or {})
        if is_authorised:
            sent["Authorization"] = f"Bot {self.token}"
        body = None if json is None else orjson.dumps(json)
        if body is not None:
            sent["Content-Type"] = "application/json"
        async with self._session.request(
            method, url, params=query, data=data or body, headers=sent
        ) as response:
            raw = await response.read()
            reply = Reply(
                status=response.status,
                headers=response.headers,
                body=orjson.loads(raw) if raw else None,
                content_type=response.content_type,
            )
        if expect is not None:
            assert reply.status == expect, (
                f"{method} {template}: {reply.status} {reply.body!r}, expected {expect}"
            )
        self._check(method, template, reply)
        return reply

    def _check(self, method: str, template: str, reply: Reply) -> None:
        if reply.body is None:
            return
        assert reply.content_type == "application/json", reply.content_type
        if self._spec is None or (isinstance(reply.body, dict) and "errors" in reply.body):
            # Discord's field error codes are strings; its spec says integers.
            return
        if not self._spec.has_json_body(method, template, reply.status):
            return
        self._spec.validate(method, template, reply.status, reply.body)
        self.checked.add(f"{method} {template} {reply.status}")


def new_interaction(
    sim: Simulator,
    *,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    interaction_type: int = 2,
    data: dict[str, Any] | None = None,
    source_message_id: int | None = None,
) -> Interaction:
    """Add an interaction to the world as if INTERACTION_CREATE had just been dispatched."""
    world = sim.world
    app = next(iter(world.applications.values()))
    interaction = Interaction(
        id=world.ids.next_id(),
        token=f"aW50ZXJhY3Rpb246test{world.ids.next_id()}",
        application_id=app.id,
        type=interaction_type,
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        data=data if data is not None else {"id": "1", "name": "ping", "type": 1},
        created_at=time.monotonic(),
        source_message_id=source_message_id,
    )
    interaction.dispatched_at = interaction.created_at
    world.add_interaction(interaction)
    sim.stats.count_injected(interaction, is_delivered=True)
    return interaction
