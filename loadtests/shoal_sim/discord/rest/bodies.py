"""Request bodies: JSON, or multipart with ``payload_json`` and ``files[n]`` parts.

hikari (like Discord's other clients) sends attachments as ``multipart/form-data``:
a ``payload_json`` part with the JSON body and one part per file named ``files[n]``,
where ``n`` matches an ``attachments[].id`` in the JSON. This module reads either
form into a :class:`Body`; it does not judge the contents (the rules modules do).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import BodyPartReader

from shoal_sim.discord.rest import errors

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["MAX_FILE_BYTES", "Body", "Upload", "read_array", "read_body", "read_object"]

#: Largest file Discord accepts in a guild without boosts (the interaction's
#: ``attachment_size_limit`` says the same); a bigger one gets 413 40005.
MAX_FILE_BYTES: Final = 10 * 1024 * 1024
_FILE_FIELD: Final = re.compile(r"^files?\[(\d+)\]$")

JSON = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded file."""

    index: int
    """The ``n`` of ``files[n]``: the ``attachments[].id`` describing it."""
    filename: str
    content_type: str | None
    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Body:
    """A request body: its JSON object and any uploaded files."""

    json: JSON
    uploads: tuple[Upload, ...] = ()


async def read_body(request: web.Request) -> Body:
    """Read a JSON or multipart body into an object and uploads.

    Raises:
        DiscordError: invalid JSON (50109), a body that is not an object (50035) or a
            file over :data:`MAX_FILE_BYTES` (413 40005).
    """
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request)
    return Body(json=await read_object(request))


async def read_object(request: web.Request) -> JSON:
    """Read a JSON object body; no body reads as ``{}``.

    Raises:
        DiscordError: invalid JSON (50109) or a JSON value other than an object (50035).
    """
    value = await _read_json(request, default={})
    return _as_object(value)


async def read_array(request: web.Request) -> list[Any]:
    """Read a JSON array body (bulk overwrites).

    Raises:
        DiscordError: invalid JSON (50109) or a JSON value other than an array (50035).
    """
    value = await _read_json(request, default=None)
    if not isinstance(value, list):
        raise errors.invalid_field((), *errors.NOT_A_LIST)
    return value


async def _read_json(request: web.Request, *, default: object) -> object:
    raw = await request.read()
    if not raw.strip():
        return default
    return _parse_json(raw)


def _parse_json(raw: bytes | str) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.DiscordError(errors.INVALID_JSON) from exc


def _as_object(value: object) -> JSON:
    if not isinstance(value, dict):
        raise errors.invalid_field((), *errors.NOT_A_DICT)
    return value


async def _read_multipart(request: web.Request) -> Body:
    reader = await request.multipart()
    payload: JSON = {}
    uploads: list[Upload] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue  # nested multiparts are not something Discord accepts either
        name = part.name or ""
        if name == "payload_json":
            payload = _as_object(_parse_json(await part.read(decode=True)))
            continue
        match = _FILE_FIELD.match(name)
        if match is None:
            continue  # Discord ignores unknown form fields
        data = await part.read(decode=True)
        if len(data) > MAX_FILE_BYTES:
            raise errors.DiscordError(errors.ENTITY_TOO_LARGE)
        uploads.append(
            Upload(
                index=int(match.group(1)),
                filename=part.filename or "file",
                content_type=part.headers.get("Content-Type"),
                data=bytes(data),
            )
        )
    return Body(json=payload, uploads=tuple(uploads))
