"""The core feature: ``/ping`` and ``/shard``, the commands every Shoal bot has."""

from __future__ import annotations

from shoal.features.core.commands import core_module

__all__ = ["core_module"]
