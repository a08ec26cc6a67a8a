"""A small client for the simulator's `/_sim` control API: paths in, checked JSON out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.server import Simulator

__all__ = ["ControlApi"]


class ControlApi:
    """Calls `/_sim/...` of one simulator and checks the status of every reply."""

    def __init__(self, session: aiohttp.ClientSession, sim: Simulator) -> None:
        """Call ``sim`` through ``session``."""
        self._session = session
        self._sim = sim

    async def call(
        self,
        method: str,
        path: str,
        *,
        expect: int,
        json: object = None,
        raw_body: bytes | None = None,
        query: dict[str, str] | None = None,
    ) -> Any:  # noqa: ANN401 - whatever JSON the endpoint answers
        """Call ``/_sim{path}`` and return the decoded JSON body.

        Raises:
            AssertionError: when the status is not ``expect``, or an error reply is not
                ``{"error": "..."}`` JSON.
        """
        body = raw_body if json is None else orjson.dumps(json)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        url = f"{self._sim.base_url}/_sim{path}"
        async with self._session.request(
            method, url, data=body, params=query, headers=headers
        ) as response:
            raw = await response.read()
            status, content_type = response.status, response.content_type
        decoded = orjson.loads(raw) if raw else None
        assert status == expect, f"{method} {path}: {status} {decoded!r}, expected {expect}"
        assert content_type == "application/json", content_type
        if status >= 400:
            assert isinstance(decoded, dict), decoded
            assert set(decoded) == {"error"}, decoded
            assert isinstance(decoded["error"], str), decoded
        return decoded

    async def error(
        self,
        method: str,
        path: str,
        *,
        expect: int = 400,
        json: object = None,
        raw_body: bytes | None = None,
        query: dict[str, str] | None = None,
    ) -> str:
        """Call an endpoint that must refuse; return the ``error`` message."""
        body = await self.call(
            method, path, expect=expect, json=json, raw_body=raw_body, query=query
        )
        message: str = body["error"]
        return message
