"""The operator's settings, read once from ``SHOAL_OPERATOR_*`` variables by a pure function.

Owns the names, defaults and checks; a bad value raises
:class:`shoal.config.SettingsError` naming the variable. Does not read the environment
itself: ``shoal.cli`` passes it in.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Final

from shoal.config import SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["OperatorSettings", "operator_settings"]

_LOG_LEVELS: Final = frozenset({"DEBUG", "INFO", "WARNING", "ERROR"})
_NAMESPACE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OperatorSettings:
    """How the operator runs."""

    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty: the whole cluster."""
    peering_name: str = "shoal-operator"
    """The KopfPeering object replicas coordinate through."""
    priority: int = 0
    """Peering priority: the highest-priority live replica works, the others stand by."""
    peering_lifetime_s: float = 60.0
    """Seconds a replica's peering record counts as alive without a keep-alive (kopf's
    ``settings.peering.lifetime``, whole seconds: rounded up). A standby takes over at most
    this long after the active replica dies; keep-alives go out 5-10 s before it ends
    (every second when it is under 6 s)."""
    is_standalone: bool = False
    """Run without peering (one replica only)."""
    reconcile_interval_s: float = 15.0
    """Seconds between timer-driven reconciles of each DiscordBot."""
    metrics_port: int = 9090
    """Port of ``/metrics``."""
    health_port: int = 8081
    """Port of kopf's liveness endpoint ``/healthz``."""
    log_level: str = "INFO"
    """Root log level."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(name, f"must be between {low} and {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, f"must be a number, got {raw!r}") from None
    if not low <= value <= high:  # also refuses nan
        raise SettingsError(name, f"must be between {low:g} and {high:g}, got {raw}")
    return value


def operator_settings(env: Mapping[str, str]) -> OperatorSettings:
    """Build the operator's settings from ``env``; SettingsError names a bad variable."""
    namespaces = tuple(
        part.strip() for part in env.get("SHOAL_OPERATOR_NAMESPACES", "").split(",") if part.strip()
    )
    for namespace in namespaces:
        if not _NAMESPACE.match(namespace):
            raise SettingsError(
                "SHOAL_OPERATOR_NAMESPACES", f"{namespace!r} is not a namespace name"
            )
    standalone_raw = env.get("SHOAL_OPERATOR_STANDALONE", "").strip().lower() or "false"
    if standalone_raw not in ("true", "false", "1", "0"):
        raise SettingsError("SHOAL_OPERATOR_STANDALONE", "must be true or false")
    interval_raw = env.get("SHOAL_OPERATOR_INTERVAL_S", "").strip() or "15"
    try:
        interval_s = float(interval_raw)
    except ValueError:
        raise SettingsError("SHOAL_OPERATOR_INTERVAL_S", "must be a number") from None
    if not 0.2 <= interval_s <= 3600:  # noqa: PLR2004 - sub-second only for tests
        raise SettingsError("SHOAL_OPERATOR_INTERVAL_S", "must be between 0.2 and 3600")
    lifetime_s = _float(env, "SHOAL_OPERATOR_PEERING_LIFETIME_S", 60.0, 1.0, 3600.0)
    level = (env.get("SHOAL_LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in _LOG_LEVELS:
        raise SettingsError("SHOAL_LOG_LEVEL", f"must be one of {sorted(_LOG_LEVELS)}")
    peering = env.get("SHOAL_OPERATOR_PEERING", "").strip() or "shoal-operator"
    if not _NAMESPACE.match(peering):
        raise SettingsError("SHOAL_OPERATOR_PEERING", "must be a DNS label")
    return OperatorSettings(
        namespaces=namespaces,
        peering_name=peering,
        priority=_int(env, "SHOAL_OPERATOR_PRIORITY", 0, -1_000_000, 1_000_000),
        peering_lifetime_s=lifetime_s,
        is_standalone=standalone_raw in ("true", "1"),
        reconcile_interval_s=interval_s,
        metrics_port=_int(env, "SHOAL_OPERATOR_METRICS_PORT", 9090, 0, 65_535),
        health_port=_int(env, "SHOAL_OPERATOR_HEALTH_PORT", 8081, 0, 65_535),
        log_level=level,
    )
