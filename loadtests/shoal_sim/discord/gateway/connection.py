"""One gateway websocket: framing, compression, heartbeats and the send limit.

What a command *means* (IDENTIFY, RESUME, voice...) is the hub's business
(:mod:`.hub`); this module owns the wire: HELLO, ACKs, zombie detection, the
120-commands-per-60-s limit, zlib-stream transport compression, ordered sends.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import struct
import time
import zlib
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import WSMsgType, web

from shoal_sim.discord.gateway.closing import CloseCode

if TYPE_CHECKING:
    from shoal_sim.discord.gateway.hub import Gateway
    from shoal_sim.discord.gateway.sessions import Session

__all__ = ["MAX_CLIENT_PAYLOAD_BYTES", "SESSION_ENDING_CLIENT_CODES", "Connection"]

_LOG = logging.getLogger(__name__)

_OP_DISPATCH: Final = 0
_OP_HEARTBEAT: Final = 1
_OP_IDENTIFY: Final = 2
_OP_PRESENCE_UPDATE: Final = 3
_OP_VOICE_STATE_UPDATE: Final = 4
_OP_RESUME: Final = 6
_OP_REQUEST_GUILD_MEMBERS: Final = 8
_OP_HELLO: Final = 10
_OP_HEARTBEAT_ACK: Final = 11
_HEARTBEAT_ACK_FRAME: Final = b'{"op":11,"d":null,"s":null,"t":null}'
#: Discord closes a connection whose client payload exceeds 4096 bytes with 4002.
MAX_CLIENT_PAYLOAD_BYTES: Final = 4096
_ZLIB_LEVEL: Final = 1
_TEXT: Final = 0x1
_BINARY: Final = 0x2
#: Stop writing while this much is buffered for a slow client (TCP back-pressure).
_HIGH_WATER_BYTES: Final = 1 << 20
_DRAIN_POLL_S: Final = 0.001
_NEEDS_SESSION: Final = frozenset(
    {_OP_PRESENCE_UPDATE, _OP_VOICE_STATE_UPDATE, _OP_REQUEST_GUILD_MEMBERS}
)
#: Closing codes with which a client ends its session for good (Discord invalidates it).
SESSION_ENDING_CLIENT_CODES: Final = frozenset({1000, 1001})


def _frame_header(opcode: int, length: int) -> bytes:
    """Return an unmasked, final websocket frame header (RFC 6455 section 5.2)."""
    first = 0x80 | opcode
    if length < 126:  # noqa: PLR2004 - RFC 6455 length encodings
        return struct.pack("!BB", first, length)
    if length < 65_536:  # noqa: PLR2004
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


class _Close:
    """A close queued behind the frames already waiting (keeps op 9 before the close)."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class Connection:
    """A client's websocket to the simulated gateway."""

    __slots__ = (
        "_compressor",
        "_hub",
        "_outbox",
        "_sent_commands",
        "_transport",
        "_wakeup",
        "_watchdog",
        "_writer",
        "close_code_sent",
        "is_closing",
        "session",
        "ws",
    )

    def __init__(
        self,
        hub: Gateway,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        *,
        is_compressed: bool,
    ) -> None:
        """Wrap a prepared websocket; ``is_compressed`` selects zlib-stream transport."""
        self._hub = hub
        self.ws = ws
        self._transport = transport
        # Level 1: the stream format is the same at every level (clients cannot tell), and
        # the fastest level keeps the simulator from being what limits a load test.
        self._compressor = zlib.compressobj(level=_ZLIB_LEVEL) if is_compressed else None
        self._outbox: collections.deque[bytes | _Close] = collections.deque()
        self._wakeup = asyncio.Event()
        self._sent_commands: collections.deque[float] = collections.deque()
        self._watchdog: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task[None] | None = None
        self.session: Session | None = None
        self.is_closing = False
        self.close_code_sent: int | None = None

    @property
    def backlog(self) -> int:
        """Frames queued and not yet written to the socket."""
        return len(self._outbox)

    # -- sending -------------------------------------------------------------------

    def send_dispatch(self, seq: int, event: bytes, data: bytes) -> None:
        """Queue a dispatch (op 0) frame."""
        self._push(b'{"op":0,"s":%d,"t":"%b","d":%b}' % (seq, event, data))

    def send_op(self, op: int, data: Any) -> None:  # noqa: ANN401 - any JSON value
        """Queue a non-dispatch frame."""
        self._push(orjson.dumps({"op": op, "d": data, "s": None, "t": None}))

    def close(self, code: int, reason: str = "") -> None:
        """Queue a close with ``code`` after what is already queued; later sends are dropped."""
        if self.is_closing:
            return
        self.is_closing = True
        self._outbox.append(_Close(code, reason))
        self._wakeup.set()

    def _push(self, frame: bytes) -> None:
        if self.is_closing:
            return
        self._outbox.append(frame)
        self._wakeup.set()

    async def _write_forever(self) -> None:
        """Drain the outbox: frame everything queued and write it with one system call.

        aiohttp's ``send_frame`` writes (one syscall) per frame, which caps a connection
        far below what Discord sends; batching the frames of one wakeup keeps the
        simulator off the critical path. Control frames (pong, close) still go through
        aiohttp, whole, so they never interleave inside a data frame.
        """
        outbox, wakeup = self._outbox, self._wakeup
        compressor = self._compressor
        transport = self._transport
        sync_flush = zlib.Z_SYNC_FLUSH
        opcode = _BINARY if compressor is not None else _TEXT
        while True:
            await wakeup.wait()
            wakeup.clear()
            chunks: list[bytes] = []
            closing: _Close | None = None
            while outbox:
                item = outbox.popleft()
                if isinstance(item, _Close):
                    closing = item
                    break
                if compressor is not None:
                    item = compressor.compress(item) + compressor.flush(sync_flush)
                chunks.append(_frame_header(opcode, len(item)))
                chunks.append(item)
            if chunks and (transport is None or transport.is_closing()):
                break  # the peer is gone; serve() notices and detaches the session
            if chunks and transport is not None:
                transport.writelines(chunks)
                while transport.get_write_buffer_size() > _HIGH_WATER_BYTES:
                    if transport.is_closing():
                        break
                    await asyncio.sleep(_DRAIN_POLL_S)
            if closing is not None:
                await self._close_now(closing.code, closing.reason)
                return

    async def _close_now(self, code: int, reason: str) -> None:
        self.close_code_sent = code
        self._hub.stats.close_codes[code] += 1
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=code, message=reason.encode())

    # -- receiving -------------------------------------------------------------------

    async def serve(self) -> None:
        """Run the connection until either side closes it."""
        interval_ms = self._hub.settings.heartbeat_interval_ms
        self._writer = asyncio.create_task(self._write_forever(), name="gateway writer")
        self.send_op(_OP_HELLO, {"heartbeat_interval": interval_ms, "_trace": ["shoal-sim"]})
        self._arm_watchdog()
        try:
            async for message in self.ws:
                if self.is_closing:
                    break
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    # Clients may send JSON in text or binary frames (hikari uses binary).
                    self._receive(message.data)
                else:
                    break
            if self._writer is not None and not self._writer.done() and self.is_closing:
                await asyncio.wait_for(asyncio.shield(self._writer), timeout=5)
        except (TimeoutError, ConnectionError):
            _LOG.debug("gateway connection ended abruptly", exc_info=True)
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            if self._writer is not None and not self._writer.done():
                self._writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await self._writer
            client_code = None if self.close_code_sent is not None else self.ws.close_code
            self._hub.connection_closed(self, client_code)

    def _receive(self, text: str | bytes) -> None:
        if len(text) > MAX_CLIENT_PAYLOAD_BYTES:
            self.close(CloseCode.DECODE_ERROR, "Payload too large.")
            return
        try:
            payload = orjson.loads(text)
            op = payload["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.close(CloseCode.DECODE_ERROR, CloseCode.DECODE_ERROR.reason)
            return
        if not isinstance(op, int) or isinstance(op, bool):
            self.close(CloseCode.DECODE_ERROR, CloseCode.DECODE_ERROR.reason)
            return
        if not self._count_command():
            self.close(CloseCode.RATE_LIMITED, CloseCode.RATE_LIMITED.reason)
            return
        self._hub.stats.gateway_commands_by_op[op] += 1
        self._handle(op, payload.get("d"))

    def _handle(self, op: int, data: Any) -> None:  # noqa: ANN401 - raw JSON
        if op == _OP_HEARTBEAT:
            self._arm_watchdog()
            self._push(_HEARTBEAT_ACK_FRAME)
        elif op in (_OP_IDENTIFY, _OP_RESUME):
            if self.session is not None:
                self.close(CloseCode.ALREADY_AUTHENTICATED, CloseCode.ALREADY_AUTHENTICATED.reason)
            elif op == _OP_IDENTIFY:
                self._hub.identify(self, data)
            else:
                self._hub.resume(self, data)
        elif op not in _NEEDS_SESSION:
            self.close(CloseCode.UNKNOWN_OPCODE, CloseCode.UNKNOWN_OPCODE.reason)
        elif self.session is None:
            self.close(CloseCode.NOT_AUTHENTICATED, CloseCode.NOT_AUTHENTICATED.reason)
        elif op == _OP_VOICE_STATE_UPDATE:
            self._hub.voice_state_update(self.session, data)
        elif op == _OP_REQUEST_GUILD_MEMBERS:
            self._hub.request_guild_members(self.session, data)
        # op 3 (presence update) is accepted and has no visible effect here.

    def _count_command(self) -> bool:
        """Record a client command; False once the per-connection send limit is exceeded."""
        settings = self._hub.settings
        now = time.monotonic()
        sent = self._sent_commands
        while sent and now - sent[0] >= settings.send_window_s:
            sent.popleft()
        if len(sent) >= settings.send_limit:
            return False
        sent.append(now)
        return True

    def _arm_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        settings = self._hub.settings
        timeout_s = settings.heartbeat_interval_ms / 1000 * settings.heartbeat_grace
        self._watchdog = asyncio.get_running_loop().call_later(timeout_s, self._zombie)

    def _zombie(self) -> None:
        _LOG.info("closing a gateway connection that stopped heartbeating")
        self._hub.stats.zombies += 1
        self.close(CloseCode.SESSION_TIMED_OUT, CloseCode.SESSION_TIMED_OUT.reason)
