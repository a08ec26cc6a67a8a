"""The simulated CDN: user avatars and Discord's default avatars, at the simulator's root.

Real Discord serves images from ``https://cdn.discordapp.com``; the simulator serves the
same paths from its own base URL (the host and port of REST, without ``/api/v10``), so a
bot builds ``{cdn}/avatars/{user_id}/{hash}.png?size=256`` with ``cdn`` configurable:

- ``GET /avatars/{user_id}/{hash}.png`` (or ``.webp``): the user's avatar, a
  deterministic identicon; 404 when the user has no such avatar hash;
- ``GET /embed/avatars/{index}.png``: default avatar 0 to 5 (a coloured disc).

``?size=`` is a power of two from 16 to 4096 (default 128; any other value is 400, as
on Discord). Images are drawn in a worker thread (a 4096 px one takes a fraction of a
second) and cached by :mod:`shoal_sim.discord.avatars`. No authentication, no limits.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Final

from aiohttp import web

from shoal_sim.discord import avatars

if TYPE_CHECKING:
    from shoal_sim.discord.server import Simulator

__all__ = ["add_routes"]

#: Browsers and bots may cache avatars: a hash names one image for ever.
_CACHE_CONTROL: Final = "public, max-age=86400"


def add_routes(app: web.Application, sim: Simulator) -> None:
    """Mount the CDN routes on the simulator's application."""
    cdn = CdnHandlers(sim)
    app.router.add_get("/avatars/{user_id}/{file}", cdn.avatar)
    app.router.add_get("/embed/avatars/{file}", cdn.default_avatar)


def _not_found() -> web.Response:
    return web.Response(status=404, text="404: Not Found")


def _size(request: web.Request) -> int | None:
    raw = request.query.get("size")
    if raw is None:
        return avatars.DEFAULT_SIZE
    try:
        size = int(raw)
    except ValueError:
        return None
    return size if avatars.is_valid_size(size) else None


def _split(file: str) -> tuple[str, str] | None:
    """Return ``(stem, extension)`` of a file name whose extension the CDN serves."""
    stem, dot, extension = file.rpartition(".")
    if not dot or extension.lower() not in avatars.FORMATS:
        return None
    return stem, extension.lower()


@dataclasses.dataclass(frozen=True, slots=True)
class CdnHandlers:
    """CDN handlers bound to one simulator."""

    sim: Simulator

    async def avatar(self, request: web.Request) -> web.Response:
        """Answer a user's avatar image."""
        parts = _split(request.match_info["file"])
        raw_user_id = request.match_info["user_id"]
        if parts is None or not raw_user_id.isdigit():
            return _not_found()
        user = self.sim.world.user(int(raw_user_id))
        avatar_hash, extension = parts
        if user is None or user.avatar is None or user.avatar != avatar_hash:
            return _not_found()
        size = _size(request)
        if size is None:
            return web.Response(status=400, text="400: Invalid size")
        file_format, content_type = avatars.FORMATS[extension]
        data = await asyncio.to_thread(avatars.render_avatar, avatar_hash, size, file_format)
        return _image(data, content_type)

    async def default_avatar(self, request: web.Request) -> web.Response:
        """Answer one of the six default avatars."""
        parts = _split(request.match_info["file"])
        if parts is None or not parts[0].isdigit():
            return _not_found()
        index = int(parts[0])
        if not 0 <= index < avatars.DEFAULT_AVATAR_COUNT:
            return _not_found()
        size = _size(request)
        if size is None:
            return web.Response(status=400, text="400: Invalid size")
        file_format, content_type = avatars.FORMATS[parts[1]]
        data = await asyncio.to_thread(avatars.render_default_avatar, index, size, file_format)
        return _image(data, content_type)


def _image(data: bytes, content_type: str) -> web.Response:
    response = web.Response(body=data, content_type=content_type)
    response.headers["Cache-Control"] = _CACHE_CONTROL
    return response
