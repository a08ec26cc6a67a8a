"""The benchmarks' smoke tests run each benchmark's ``main`` in this process.

A benchmark installs uvloop's event loop policy, as production does; the policy is put
back after each test, or every later test in the session would run on it (and uvloop's
policy has no child watcher for asyncio's subprocesses).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def _restored_event_loop_policy() -> Iterator[None]:
    policy = asyncio.get_event_loop_policy()
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(policy)
