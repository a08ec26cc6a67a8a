"""Fixtures of the gateway tests: a bot namespace per test in the shared Redis."""

from __future__ import annotations

from tests.integration.gateway.redis_namespaces import bot_keys, bot_namespace

__all__ = ["bot_keys", "bot_namespace"]
