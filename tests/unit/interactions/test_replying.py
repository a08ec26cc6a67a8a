"""References that tie an error reply to its log line."""

from __future__ import annotations

import re

from shoal.interactions.replying import new_reference


def test_new_reference_is_six_unambiguous_characters_when_generated() -> None:
    references = {new_reference() for _ in range(200)}
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", reference) for reference in references)
    assert len(references) > 190  # 32**6 values: repeats in 200 draws are near impossible
