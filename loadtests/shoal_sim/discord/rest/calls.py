"""One REST call as handlers see it: the request, the simulator, the bot, parsed inputs.

:mod:`.routing` builds a :class:`Call` once the request is authorised and within its
limits; handlers read path and query parameters through it (bad values become
Discord's 50035) and answer with :func:`json_response` or :func:`no_content`.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web

from shoal_sim.discord.rest import bodies, errors, values

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Application
    from shoal_sim.discord.server import Simulator
    from shoal_sim.discord.world import World

__all__ = ["Call", "json_response", "no_content", "parse_snowflake"]

#: Discord truncates audit log reasons to this many characters.
_AUDIT_REASON_MAX: Final = 512


def json_response(data: Any, status: int = 200) -> web.Response:  # noqa: ANN401 - any JSON
    """Return a JSON response (hikari insists on ``Content-Type: application/json``)."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def no_content() -> web.Response:
    """Return 204 No Content."""
    return web.Response(status=204)


@dataclasses.dataclass(slots=True)
class Call:
    """An authorised request and what handlers need to answer it."""

    request: web.Request
    sim: Simulator
    app: Application | None
    """The bot's application (None on interaction and webhook token routes)."""

    @property
    def world(self) -> World:
        """The simulated world."""
        return self.sim.world

    @property
    def bot(self) -> Application:
        """The application of the bot token (only on bot-authorised routes).

        Raises:
            RuntimeError: on a route that takes no bot token.
        """
        if self.app is None:
            msg = "this route takes no bot token"
            raise RuntimeError(msg)
        return self.app

    def snowflake(self, name: str) -> int:
        """Return the path parameter ``name`` as a snowflake.

        Raises:
            DiscordError: 50035 when it is not a snowflake, as Discord answers.
        """
        raw = self.request.match_info[name]
        return parse_snowflake(raw, (name,))

    def query_int(self, name: str, *, default: int, low: int, high: int) -> int:
        """Return the integer query parameter ``name``, within ``[low, high]``.

        Raises:
            DiscordError: 50035 when it is not an integer or out of range.
        """
        raw = self.request.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise errors.invalid_field(
                (name,), "NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.'
            ) from None
        if not low <= value <= high:
            raise errors.invalid_field(
                (name,),
                "NUMBER_TYPE_MAX" if value > high else "NUMBER_TYPE_MIN",
                f"int value should be between {low} and {high}.",
            )
        return value

    def query_snowflake(self, name: str) -> int | None:
        """Return the snowflake query parameter ``name``, or None when absent.

        Raises:
            DiscordError: 50035 when it is not a snowflake.
        """
        raw = self.request.query.get(name)
        return None if raw is None else parse_snowflake(raw, (name,))

    def query_flag(self, name: str) -> bool:
        """Return the boolean query parameter ``name`` (``true``/``1`` are true)."""
        return self.request.query.get(name, "").lower() in {"true", "1", "yes"}

    def audit_reason(self) -> str | None:
        """Return the URL-decoded ``X-Audit-Log-Reason`` header, if any."""
        raw = self.request.headers.get("X-Audit-Log-Reason")
        if raw is None:
            return None
        return urllib.parse.unquote(raw)[:_AUDIT_REASON_MAX]

    async def body(self) -> bodies.Body:
        """Read a JSON or multipart body (see :func:`.bodies.read_body`)."""
        return await bodies.read_body(self.request)

    async def object_body(self) -> dict[str, Any]:
        """Read a JSON object body (see :func:`.bodies.read_object`)."""
        return await bodies.read_object(self.request)

    async def array_body(self) -> list[Any]:
        """Read a JSON array body (see :func:`.bodies.read_array`)."""
        return await bodies.read_array(self.request)


def parse_snowflake(raw: object, path: tuple[str | int, ...]) -> int:
    """Return ``raw`` (a string or int) as a snowflake.

    Raises:
        DiscordError: 50035 naming ``path`` when it is not one.
    """
    snowflake = values.as_snowflake(raw)
    if snowflake is None:
        raise errors.invalid_field(path, "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
    return snowflake
