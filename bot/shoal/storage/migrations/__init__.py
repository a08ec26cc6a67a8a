"""Core's migrations (module ``core``): ``NNNN_snake_case_name.sql`` files, applied in order.

Data, not code: `shoal.storage.migrating.core_migrations` reads them. Never edit a file
that has been released (its checksum is recorded when applied); add the next number.
Each feature keeps its own in ``shoal/features/<name>/migrations/`` the same way.
"""

from __future__ import annotations

__all__: list[str] = []
