"""A raw gateway client: every frame and every close code, nothing hidden by a library.

Speaks the wire protocol over aiohttp so a test can send what no library would (bad
JSON, unknown opcodes, a second IDENTIFY, a RESUME from the future) and see exactly what
comes back: payloads in order, zlib-stream transport compression undone, and how the
connection ended. Owns no rule of Discord's: the tests state those.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import zlib
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import orjson

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.settings import DEFAULT_TOKEN

if TYPE_CHECKING:
    from shoal_sim.discord.server import Simulator

__all__ = [
    "OP_DISPATCH",
    "OP_HEARTBEAT",
    "OP_HEARTBEAT_ACK",
    "OP_HELLO",
    "OP_IDENTIFY",
    "OP_INVALID_SESSION",
    "OP_RECONNECT",
    "OP_RESUME",
    "OP_VOICE_STATE_UPDATE",
    "Closed",
    "Dispatch",
    "RawGateway",
    "open_session",
]

JSON = dict[str, Any]

OP_DISPATCH: Final = 0
OP_HEARTBEAT: Final = 1
OP_IDENTIFY: Final = 2
OP_VOICE_STATE_UPDATE: Final = 4
OP_RESUME: Final = 6
OP_RECONNECT: Final = 7
OP_INVALID_SESSION: Final = 9
OP_HELLO: Final = 10
OP_HEARTBEAT_ACK: Final = 11

#: Every zlib-stream payload ends with the empty stored block of a Z_SYNC_FLUSH.
_ZLIB_SUFFIX: Final = b"\x00\x00\xff\xff"
#: Longest wait for anything the simulator should send at once; generous for a loaded CI.
_WAIT_S: Final = 5.0
#: Identify attempts before giving up on a bucket that stays busy.
_IDENTIFY_ATTEMPTS: Final = 20
_PROPERTIES: Final = {"os": "linux", "browser": "shoal-tests", "device": "shoal-tests"}


@dataclasses.dataclass(frozen=True, slots=True)
class Closed:
    """How a connection ended."""

    code: int | None
    """The close code the server sent, None when the connection ended with no close frame."""
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class Dispatch:
    """One op 0 payload."""

    seq: int
    event: str
    data: Any


class RawGateway:
    """One websocket to the simulated gateway, read one payload at a time."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, is_compressed: bool) -> None:
        """Wrap an open websocket; ``is_compressed`` when zlib-stream was asked for."""
        self._ws = ws
        self.is_compressed = is_compressed
        self._inflator = zlib.decompressobj()
        self._buffer = bytearray()
        self.frame_types: collections.Counter[aiohttp.WSMsgType] = collections.Counter()
        """Data frames received, by websocket frame type."""
        self.payloads_read = 0
        """Payloads decoded from those frames."""
        self.hello: JSON | None = None
        """The HELLO payload, once :meth:`read_hello` has read it."""
        self.ready: JSON | None = None
        """The body of the last READY read."""
        self.last_seq: int | None = None
        """Sequence number of the last dispatch read."""

    @classmethod
    async def connect(
        cls,
        http: aiohttp.ClientSession,
        url: str,
        *,
        compress: bool = False,
        version: str = "10",
    ) -> RawGateway:
        """Open a websocket to ``url`` (the gateway or resume URL) without reading anything."""
        query = f"?v={version}&encoding=json" + ("&compress=zlib-stream" if compress else "")
        ws = await http.ws_connect(url + query)
        return cls(ws, is_compressed=compress)

    @property
    def session_id(self) -> str:
        """The session id from READY."""
        assert self.ready is not None, "no READY read yet"
        session_id: str = self.ready["session_id"]
        return session_id

    # -- sending ---------------------------------------------------------------------

    async def send(self, op: int, data: Any) -> None:  # noqa: ANN401 - any JSON value
        """Send one command."""
        await self._ws.send_bytes(orjson.dumps({"op": op, "d": data}))

    async def send_text(self, text: str) -> None:
        """Send a text frame as it is (for malformed payloads)."""
        await self._ws.send_str(text)

    async def identify(
        self,
        *,
        shard: tuple[int, int] = (0, 1),
        intents: int = intent_bits.GUILDS,
        token: str = DEFAULT_TOKEN,
    ) -> None:
        """Send IDENTIFY."""
        await self.send(
            OP_IDENTIFY,
            {"token": token, "properties": _PROPERTIES, "shard": list(shard), "intents": intents},
        )

    async def resume(self, *, session_id: str, seq: int, token: str = DEFAULT_TOKEN) -> None:
        """Send RESUME."""
        await self.send(OP_RESUME, {"token": token, "session_id": session_id, "seq": seq})

    async def close(self, code: int = 1000) -> None:
        """Close the websocket with ``code``."""
        await self._ws.close(code=code)

    # -- receiving -------------------------------------------------------------------

    async def receive(self, *, timeout_s: float = _WAIT_S) -> JSON | Closed:
        """Return the next payload, or how the connection ended.

        Raises:
            TimeoutError: when nothing arrives within ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self._ws.receive()
                if message.type is aiohttp.WSMsgType.CLOSE:
                    return Closed(int(message.data), message.extra or "")
                if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return Closed(None, "")
                payload = self._decode(message)
                if payload is None:
                    continue
                self.payloads_read += 1
                if payload["op"] == OP_DISPATCH:
                    self.last_seq = payload["s"]
                    if payload["t"] == "READY":
                        self.ready = payload["d"]
                return payload

    def _decode(self, message: aiohttp.WSMessage) -> JSON | None:
        self.frame_types[message.type] += 1
        if message.type is aiohttp.WSMsgType.TEXT:
            payload: JSON = orjson.loads(message.data)
            return payload
        assert message.type is aiohttp.WSMsgType.BINARY, f"unexpected frame {message.type}"
        self._buffer.extend(message.data)
        if not self._buffer.endswith(_ZLIB_SUFFIX):
            return None  # a payload split over frames: wait for the rest
        text = self._inflator.decompress(bytes(self._buffer))
        self._buffer.clear()
        decoded: JSON = orjson.loads(text)
        return decoded

    async def next_payload(self, *, timeout_s: float = _WAIT_S) -> JSON:
        """Return the next payload; fail if the connection ends first."""
        received = await self.receive(timeout_s=timeout_s)
        assert not isinstance(received, Closed), f"connection ended: {received}"
        return received

    async def next_op(self, op: int) -> JSON:
        """Return the next payload with opcode ``op``, skipping others."""
        while True:
            payload = await self.next_payload()
            if payload["op"] == op:
                return payload

    async def next_dispatch(self, event: str | None = None) -> Dispatch:
        """Return the next dispatch (the next ``event`` one if given), skipping others."""
        while True:
            payload = await self.next_op(OP_DISPATCH)
            if event is None or payload["t"] == event:
                return Dispatch(payload["s"], payload["t"], payload["d"])

    async def read_hello(self) -> JSON:
        """Read HELLO, which must be the first payload."""
        payload = await self.next_payload()
        assert payload["op"] == OP_HELLO, payload
        self.hello = payload["d"]
        return payload["d"]  # type: ignore[no-any-return]

    async def dispatches_through(self, seq: int) -> list[Dispatch]:
        """Read payloads until the dispatch numbered ``seq``; return the dispatches read."""
        found: list[Dispatch] = []
        while self.last_seq is None or self.last_seq < seq:
            payload = await self.next_payload()
            if payload["op"] == OP_DISPATCH:
                found.append(Dispatch(payload["s"], payload["t"], payload["d"]))
        return found

    async def round_trip(self) -> list[Dispatch]:
        """Heartbeat and return the dispatches read before its ACK.

        The simulator handles a connection's commands in order, so whatever the commands
        sent before caused has been queued by the time the ACK comes back.
        """
        await self.send(OP_HEARTBEAT, self.last_seq)
        found: list[Dispatch] = []
        while True:
            payload = await self.next_payload()
            if payload["op"] == OP_HEARTBEAT_ACK:
                return found
            if payload["op"] == OP_DISPATCH:
                found.append(Dispatch(payload["s"], payload["t"], payload["d"]))

    async def catch_up(self, sim: Simulator) -> list[Dispatch]:
        """Read every dispatch the simulator has given this client's session so far."""
        return await self.dispatches_through(sim.gateway.sessions.by_id[self.session_id].seq)

    async def closed(self, *, timeout_s: float = _WAIT_S) -> Closed:
        """Read (and drop) payloads until the connection ends; return how it ended."""
        while True:
            received = await self.receive(timeout_s=timeout_s)
            if isinstance(received, Closed):
                return received


async def open_session(
    http: aiohttp.ClientSession,
    sim: Simulator,
    *,
    shard: tuple[int, int] = (0, 1),
    intents: int = intent_bits.GUILDS,
    compress: bool = False,
) -> RawGateway:
    """Connect, IDENTIFY and read READY, waiting out a busy identify bucket as a bot would.

    The caller reads the GUILD_CREATEs (or :meth:`RawGateway.catch_up` past them).
    """
    for _ in range(_IDENTIFY_ATTEMPTS):
        client = await RawGateway.connect(http, sim.gateway.ws_url, compress=compress)
        await client.read_hello()
        await client.identify(shard=shard, intents=intents)
        payload = await client.next_payload()
        if payload["op"] == OP_DISPATCH and payload["t"] == "READY":
            return client
        assert payload["op"] == OP_INVALID_SESSION, payload
        await client.close()
        await asyncio.sleep(sim.settings.identify_window_s)
    msg = f"shard {shard} could not IDENTIFY in {_IDENTIFY_ATTEMPTS} attempts"
    raise AssertionError(msg)
