"""Features: each subpackage is one module of commands, listeners and migrations.

A feature depends on ``shoal.interactions`` (modules, replies), ``shoal.storage`` and
``shoal.observability``; nothing in the worker core imports a feature. The composition root
(``shoal.app``) and ``shoal sync-commands`` pick which features run.
"""

from __future__ import annotations

__all__: list[str] = []
