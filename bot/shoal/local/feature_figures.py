"""What the local fleet's status shows of the features: commands answered, XP, level-ups.

Pure. Owns totalling the workers' ``/metrics`` texts into :class:`FeatureFigures` (the
``shoal_commands_total`` answers by command, the ``shoal_levels_*`` counters) and the
status's text of them. Counters are totalled over the workers running now, so a restarted
worker starts its share again from 0. Does not own fetching the texts
(:mod:`shoal.local.watching`) nor the metric names' meaning
(:mod:`shoal.observability.metrics`, :mod:`shoal.features.levels.metrics`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["FeatureFigures", "feature_figures", "feature_parts"]

_ANSWERED: Final = frozenset({"ok", "unanswered", "disabled", "rate_limited", "error"})
"""``shoal_commands_total`` outcomes where the member got a reply from this worker."""
_LEVELS: Final = {
    "shoal_levels_grants": "grants",
    "shoal_levels_level_ups": "level_ups",
    "shoal_levels_flushed_rows": "flushed_rows",
}
_SHOWN_COMMANDS: Final = 6  # the busiest ones; a line stays readable


@dataclasses.dataclass(frozen=True, slots=True)
class FeatureFigures:
    """The features' counters, totalled over the workers that answered."""

    answered: Mapping[str, int]
    """Command name -> interactions answered (every outcome with a reply)."""
    grants: int = 0
    """Messages that earned XP."""
    level_ups: int = 0
    """Level-ups (each announced once)."""
    flushed_rows: int = 0
    """Member XP rows written to PostgreSQL."""


def feature_figures(texts: Iterable[str]) -> FeatureFigures:
    """Total the workers' ``/metrics`` ``texts`` (Prometheus text format)."""
    answered: dict[str, int] = {}
    levels = dict.fromkeys(_LEVELS.values(), 0)
    for text in texts:
        for family in text_string_to_metric_families(text):
            if family.name == "shoal_commands":
                for sample in family.samples:
                    if sample.name.endswith("_total") and sample.labels.get("outcome") in _ANSWERED:
                        name = sample.labels.get("command", "?")
                        answered[name] = answered.get(name, 0) + int(sample.value)
            elif family.name in _LEVELS:
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        levels[_LEVELS[family.name]] += int(sample.value)
    return FeatureFigures(answered=answered, **levels)


def feature_parts(figures: FeatureFigures) -> tuple[str, str]:
    """Return the status's two texts: levels, and the answers by command (busiest first)."""
    levels = (
        f"{figures.grants:,} XP grants  {figures.level_ups:,} level-ups  "
        f"{figures.flushed_rows:,} rows flushed"
    )
    busiest = sorted(figures.answered.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"/{name} {count:,}" for name, count in busiest[:_SHOWN_COMMANDS])
    return levels, shown or "-"
