"""Logging: one handler on the root logger, JSON lines (or text locally), secrets redacted.

Owns the output format and :func:`configure_logging`, called once by the composition root.
Modules keep doing ``logger = logging.getLogger(__name__)`` and put context in ``extra``
(``shard_id``, ``guild_id``, ``pod``, ``generation``, ``reference``, ...): every extra
attribute becomes a field of the JSON line. Tokens never reach the output: configured
secrets, anything shaped like a bot token, and the token part of interaction and webhook
URLs are replaced by ``<redacted>`` in messages, fields and tracebacks.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from typing import TYPE_CHECKING, Final, TextIO

import orjson
from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shoal.config import LogSettings

__all__ = [
    "CONTEXT_FIELDS",
    "USER_INPUT_MAX_CHARS",
    "JsonFormatter",
    "Redactor",
    "TextFormatter",
    "configure_logging",
    "shown",
]

CONTEXT_FIELDS: Final = ("shard_id", "guild_id", "pod", "generation")
"""The context fields every log line about a shard or guild should carry (via ``extra``)."""

USER_INPUT_MAX_CHARS: Final = 100
"""User input (a command name, a custom id, a URL) is cut to this in a log line: a hostile
10,000-character name must not become a 10,000-character line."""

_REDACTED: Final = "<redacted>"
#: base64(user id) . timestamp . HMAC: Discord's bot token shape (and a JWT's).
_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{20,}")
#: Interaction callbacks and webhooks carry a token in the path that acts as a password.
_TOKEN_PATH: Final = re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s?\"']+")
#: Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRS: Final = frozenset(
    {*vars(logging.LogRecord("", 0, "", 0, "", (), None)), "message", "asctime", "taskName"}
)
_HANDLER_MARK: Final = "_shoal_handler"


class Redactor:
    """Replaces secrets in text: given values, token shapes and tokens in URL paths."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        """Redact every non-empty string of ``secrets`` besides the built-in patterns."""
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret replaced by ``<redacted>``."""
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        text = _TOKEN_SHAPE.sub(_REDACTED, text)
        return _TOKEN_PATH.sub(rf"\1{_REDACTED}", text)


def shown(text: str, limit: int = USER_INPUT_MAX_CHARS) -> str:
    """Return user input as a log line shows it: cut to ``limit`` characters, saying so."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_ATTRS and not key.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, static and extra fields, exc."""

    def __init__(
        self, *, static_fields: Mapping[str, object] | None = None, redactor: Redactor
    ) -> None:
        """Add ``static_fields`` (e.g. pod, generation) to every line."""
        super().__init__()
        self._static = dict(static_fields or {})
        self._redactor = redactor

    @override
    def format(self, record: logging.LogRecord) -> str:
        redact = self._redactor.redact
        body: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **self._static,
        }
        for key, value in _extra_fields(record).items():
            body[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            body["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            body["stack"] = redact(self.formatStack(record.stack_info))
        return orjson.dumps(body, default=lambda value: redact(str(value))).decode()


class TextFormatter(logging.Formatter):
    """Human-readable lines for local runs: time, level, logger, message, then key=value."""

    def __init__(
        self, *, static_fields: Mapping[str, object] | None = None, redactor: Redactor
    ) -> None:
        """Append ``static_fields`` to every line."""
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self._static = dict(static_fields or {})
        self._redactor = redactor

    @override
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {**self._static, **_extra_fields(record)}
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return self._redactor.redact(line)


def configure_logging(
    settings: LogSettings,
    *,
    static_fields: Mapping[str, object] | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route every log record through one Shoal handler on the root logger; return it.

    Calling it again replaces the handler it installed before (handlers others added are
    left alone), so the process never prints a line twice.

    Args:
        settings: the level, and JSON or text output.
        static_fields: fields on every line, e.g. ``{"pod": ..., "generation": ...}``.
        secrets: values never to print (the bot token, the Postgres password).
        stream: where lines go; standard error by default.
    """
    redactor = Redactor(secrets)
    formatter: logging.Formatter = (
        JsonFormatter(static_fields=static_fields, redactor=redactor)
        if settings.is_json
        else TextFormatter(static_fields=static_fields, redactor=redactor)
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(settings.level)
    return handler
