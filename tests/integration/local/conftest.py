"""Fixtures of the local-run tests: a short, private working directory, a bot namespace."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.gateway.redis_namespaces import bot_keys, bot_namespace

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["bot_keys", "bot_namespace", "workdir"]


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh directory directly under the temp root, deleted after the test.

    Not pytest's ``tmp_path``: PostgreSQL puts its unix socket here (the path must stay
    short), and as root the ``postgres`` account must be able to reach it.
    """
    path = Path(tempfile.mkdtemp(prefix="shoal-t-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
