"""Role menus' migrations (module ``rolemenus``): ``NNNN_snake_case_name.sql``, in order.

Data, not code: `shoal.features.rolemenus.repository.rolemenus_migrations` reads them
(`shoal.storage.migrating.load_migrations`). Never edit a file that has been released (its
checksum is recorded when applied); add the next number.
"""

from __future__ import annotations

__all__: list[str] = []
