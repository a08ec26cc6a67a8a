"""The feature kit: services every feature gets from the composition root.

A feature's factory receives one :class:`~shoal.kit.services.FeatureKit` and never builds
a client, a pool or a cache of its own; the worker, ``shoal migrate``, ``shoal
sync-commands`` and the tests build the kit the same way (``shoal.kit.building``).
"""

from __future__ import annotations

__all__: list[str] = []
