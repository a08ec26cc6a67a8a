"""What /settings understands admins to mean, and how it shows a module's settings."""

from __future__ import annotations

import pydantic
import pytest

from shoal.features.core.settings_rules import MAX_VALUE_CHARS, field_lines, parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("on", True),
        ("OFF", False),
        ("yes", True),
        ("none", None),
        ("<#123>", 123),
        ("<@&456>", 456),
        ("<@!789>", 789),
        ("42", 42),
        ("<#1>, <#2> 3", [1, 2, 3]),
        ('[1, "a"]', [1, "a"]),
        ('{"5": 99}', {"5": 99}),
        ("{user} reached level {level}!", "{user} reached level {level}!"),
        ("  padded  ", "padded"),
        ("[not json", "[not json"),
        ("two words", "two words"),
    ],
)
def test_parse_value_reads_what_an_admin_typed(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_parse_value_refuses_an_overlong_value() -> None:
    with pytest.raises(ValueError, match="at most"):
        parse_value("x" * (MAX_VALUE_CHARS + 1))


class _Schema(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    name: str = pydantic.Field("a", description="The name.")
    count: int = 1


def test_field_lines_show_values_defaults_and_descriptions() -> None:
    lines = dict(field_lines(_Schema(count=3)))
    assert lines["name"] == "`a`\nThe name."
    assert lines["count"] == "`3` (default `1`)"
