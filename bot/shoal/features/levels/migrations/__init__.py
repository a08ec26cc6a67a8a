"""The levels feature's migrations (module ``levels``): ``NNNN_snake_case_name.sql`` files.

Data, not code: load them with ``shoal.storage.migrating.load_migrations("levels",
"shoal.features.levels.migrations")`` (see `shoal.features.levels.ledger.levels_migrations`).
Never edit a file that has been released (its checksum is recorded when applied); add the
next number.
"""

from __future__ import annotations

__all__: list[str] = []
