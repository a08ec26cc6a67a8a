"""Suite-wide pytest setup: fixture plugins, and markers applied by path.

Owns which fixture modules every test can use and the rule that a test's folder decides its
marker (tests/unit -> unit, tests/integration -> integration, tests/e2e -> e2e, and anything
under loadtests/ -> benchmark), so `-m unit` selects the fast pure tests. Does not own any
fixture: see `tests.fixtures`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import Sequence

pytest_plugins = [
    "tests.e2e.kube.fixtures",
    "tests.fixtures.ports",
    "tests.fixtures.postgres_server",
    "tests.fixtures.redis_server",
    "tests.fixtures.restartable",
]

_TESTS_ROOT: Final = Path(__file__).resolve().parent
_LOADTESTS_ROOT: Final = _TESTS_ROOT.parent / "loadtests"
_MARKER_BY_FOLDER: Final = {"unit": "unit", "integration": "integration", "e2e": "e2e"}


def _marker_for(path: Path) -> str | None:
    if path.is_relative_to(_LOADTESTS_ROOT):
        return "benchmark"
    if path.is_relative_to(_TESTS_ROOT):
        return _MARKER_BY_FOLDER.get(path.relative_to(_TESTS_ROOT).parts[0])
    return None


def pytest_collection_modifyitems(items: Sequence[pytest.Item]) -> None:
    """Mark each test by its folder; a test outside the known folders is an error."""
    misplaced: list[str] = []
    for item in items:
        marker = _marker_for(item.path.resolve())
        if marker is None:
            misplaced.append(item.nodeid)
        else:
            item.add_marker(marker)
    if misplaced:
        folders = ", ".join(f"tests/{folder}/" for folder in _MARKER_BY_FOLDER)
        msg = f"tests must live under {folders} or loadtests/; misplaced: {', '.join(misplaced)}"
        raise pytest.UsageError(msg)
