"""Status conditions: lastTransitionTime moves only on a flip, order, old types, time format."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from shoal_operator.conditions import Condition, iso_time, merge_conditions

_THEN: Final = 1_700_000_000.0
_NOW: Final = _THEN + 3_600.5
_READY: Final = Condition("Ready", is_true=True, reason="AllShardsReady", message="All ready.")
_DEGRADED: Final = Condition("Degraded", is_true=False, reason="Healthy", message="Fine.")
_PROGRESSING: Final = Condition("Progressing", is_true=False, reason="Idle", message="Idle.")


def _old(type_: str, status: str, *, since: float = _THEN) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": "Before",
        "message": "Before.",
        "lastTransitionTime": iso_time(since),
        "observedGeneration": 1,
    }


def test_iso_time_is_rfc3339_utc_seconds_when_given_a_fraction() -> None:
    assert iso_time(_THEN + 0.999) == "2023-11-14T22:13:20Z"


def test_iso_time_is_the_epoch_when_given_zero() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00Z"


def test_iso_time_reads_back_as_the_same_second_when_parsed() -> None:
    parsed = dt.datetime.fromisoformat(iso_time(_NOW))
    assert parsed.timestamp() == int(_NOW)
    assert parsed.tzinfo is not None
    assert parsed.utcoffset() == dt.timedelta(0)


def test_merge_conditions_keeps_last_transition_time_when_status_is_unchanged() -> None:
    merged = merge_conditions([_old("Ready", "True")], [_READY], now=_NOW, observed_generation=2)
    assert merged == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "AllShardsReady",
            "message": "All ready.",
            "lastTransitionTime": iso_time(_THEN),
            "observedGeneration": 2,
        }
    ]


def test_merge_conditions_replaces_last_transition_time_when_status_flips() -> None:
    merged = merge_conditions([_old("Ready", "False")], [_READY], now=_NOW, observed_generation=2)
    assert merged[0]["status"] == "True"
    assert merged[0]["lastTransitionTime"] == iso_time(_NOW)


def test_merge_conditions_stamps_now_when_a_type_is_new() -> None:
    merged = merge_conditions([], [_READY, _DEGRADED], now=_NOW, observed_generation=1)
    assert [c["lastTransitionTime"] for c in merged] == [iso_time(_NOW)] * 2
    assert [c["status"] for c in merged] == ["True", "False"]


def test_merge_conditions_follows_current_order_when_old_order_differs() -> None:
    existing = [_old("Degraded", "False"), _old("Progressing", "False"), _old("Ready", "True")]
    merged = merge_conditions(
        existing, [_READY, _PROGRESSING, _DEGRADED], now=_NOW, observed_generation=1
    )
    assert [c["type"] for c in merged] == ["Ready", "Progressing", "Degraded"]
    assert {c["lastTransitionTime"] for c in merged} == {iso_time(_THEN)}


def test_merge_conditions_keeps_unknown_old_types_after_current_when_not_reported() -> None:
    foreign = _old("Reconciled", "True") | {"observedGeneration": 7}
    merged = merge_conditions(
        [foreign, _old("Ready", "True")], [_READY], now=_NOW, observed_generation=2
    )
    assert [c["type"] for c in merged] == ["Ready", "Reconciled"]
    assert merged[1] == foreign
    assert merged[1] is not foreign


def test_merge_conditions_updates_reason_and_generation_when_status_is_unchanged() -> None:
    merged = merge_conditions(
        [_old("Degraded", "False")], [_DEGRADED], now=_NOW, observed_generation=5
    )
    assert (merged[0]["reason"], merged[0]["message"]) == ("Healthy", "Fine.")
    assert merged[0]["observedGeneration"] == 5
    assert merged[0]["lastTransitionTime"] == iso_time(_THEN)


def test_merge_conditions_leaves_existing_untouched_when_merging() -> None:
    existing = [_old("Ready", "False"), _old("Other", "True")]
    before = [dict(c) for c in existing]
    merge_conditions(existing, [_READY], now=_NOW, observed_generation=2)
    assert existing == before
