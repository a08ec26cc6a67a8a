"""JSON (and text) log lines: fields from ``extra``, static fields, no secrets, once."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import orjson
import pytest

from shoal.config import LogSettings
from shoal.observability.logging import Redactor, configure_logging

if TYPE_CHECKING:
    from collections.abc import Iterator

_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.c2VjcmV0LXRva2VuLWZvci10ZXN0cw"  # noqa: S105 - fake
_JSON = LogSettings(level="INFO", is_json=True)


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, with its handlers and level restored after the test."""
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    yield logger
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.usefixtures("root")
def test_json_line_carries_context_fields_when_given_in_extra() -> None:
    stream = io.StringIO()
    configure_logging(_JSON, static_fields={"pod": "bot-3", "generation": 2}, stream=stream)
    logging.getLogger("shoal.test").info(
        "shard %d is ready", 7, extra={"shard_id": 7, "guild_id": 1234}
    )
    (line,) = _lines(stream)
    assert line["message"] == "shard 7 is ready"
    assert line["level"] == "INFO"
    assert line["logger"] == "shoal.test"
    assert (line["shard_id"], line["guild_id"], line["pod"], line["generation"]) == (
        7,
        1234,
        "bot-3",
        2,
    )
    assert isinstance(line["ts"], str)
    assert line["ts"].endswith("+00:00")


@pytest.mark.usefixtures("root")
def test_json_line_holds_the_traceback_when_an_exception_is_logged() -> None:
    stream = io.StringIO()
    configure_logging(_JSON, stream=stream)
    try:
        raise ValueError("bad value")  # noqa: TRY301 - a real traceback to format
    except ValueError:
        logging.getLogger("shoal.test").exception("failed", extra={"reference": "ABC123"})
    (line,) = _lines(stream)
    assert line["reference"] == "ABC123"
    assert isinstance(line["exc"], str)
    assert "ValueError: bad value" in line["exc"]


@pytest.mark.usefixtures("root")
def test_tokens_are_redacted_when_they_reach_a_message_field_or_traceback() -> None:
    stream = io.StringIO()
    configure_logging(_JSON, secrets=["hunter2"], stream=stream)
    logger = logging.getLogger("shoal.test")
    logger.warning("token %s and password hunter2", _TOKEN)
    logger.warning("POST /interactions/123/aW50ZXJhY3Rpb246abc/callback", extra={"url": _TOKEN})
    try:
        raise RuntimeError(f"cannot log in with {_TOKEN}")  # noqa: TRY301 - a traceback
    except RuntimeError:
        logger.exception("login failed")
    text = stream.getvalue()
    assert _TOKEN not in text
    assert "hunter2" not in text
    assert "aW50ZXJhY3Rpb246abc" not in text
    first, second, third = _lines(stream)
    assert first["message"] == "token <redacted> and password <redacted>"
    assert second["message"] == "POST /interactions/123/<redacted>/callback"
    assert second["url"] == "<redacted>"
    assert "<redacted>" in str(third["exc"])


def test_configure_logging_replaces_its_handler_when_called_again(root: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(_JSON, stream=first)
    configure_logging(LogSettings(level="WARNING", is_json=False), stream=second)
    logger = logging.getLogger("shoal.test")
    logger.info("quiet")
    logger.warning("loud", extra={"shard_id": 1})
    assert first.getvalue() == ""
    assert second.getvalue().count("\n") == 1
    assert "WARNING shoal.test: loud shard_id=1" in second.getvalue()
    assert root.level == logging.WARNING


def test_redactor_leaves_ordinary_text_alone_when_nothing_is_secret() -> None:
    text = "guild 1234567890 joined shard 3 (latency 42.1 ms) via /api/v10/gateway/bot"
    assert Redactor(["", "s3cret"]).redact(text) == text
