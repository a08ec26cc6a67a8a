"""What the rank card writes: compact numbers, the bar's fill, names fitted to the card."""

from __future__ import annotations

import pytest

from shoal.features.levels.card_text import (
    ELLIPSIS,
    MISSING_GLYPH,
    compact_number,
    drawable_text,
    initial_of,
    progress_fraction,
    truncate_to_width,
    xp_text,
)


def _ascii_only(char: str) -> bool:
    """A font that draws printable ASCII and the ellipsis, like Pillow's bundled one."""
    return " " <= char <= "~" or char == ELLIPSIS


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (999, "999"),
        (1_000, "1K"),
        (1_234, "1.2K"),
        (2_500, "2.5K"),
        (2_499, "2.4K"),  # rounded down: never shows a full bar early
        (12_345, "12.3K"),
        (123_456, "123K"),
        (999_999, "999K"),
        (1_000_000, "1M"),
        (4_560_000, "4.5M"),
        (7_000_000_000, "7B"),
        (10**18, "1000000T"),
        (-1_234, "-1.2K"),
    ],
)
def test_compact_number_shows_one_decimal_and_a_suffix_when_large(value: int, shown: str) -> None:
    assert compact_number(value) == shown


def test_xp_text_shows_both_figures_compactly_when_given_progress() -> None:
    assert xp_text(1_234, 2_500) == "1.2K / 2.5K XP"
    assert xp_text(0, 100) == "0 / 100 XP"


@pytest.mark.parametrize(
    ("into", "needed", "fraction"),
    [(0, 100, 0.0), (25, 100, 0.25), (100, 100, 1.0), (150, 100, 1.0), (-5, 100, 0.0), (3, 0, 1.0)],
)
def test_progress_fraction_stays_within_0_and_1_when_figures_are_odd(
    into: int, needed: int, fraction: float
) -> None:
    assert progress_fraction(into, needed) == fraction


@pytest.mark.parametrize(
    ("name", "drawn"),
    [
        ("Alice", "Alice"),
        ("Zoë", "Zoe"),  # unaccented when the font lacks the accented letter
        ("Zoe\u0308", "Zoe"),  # the same, written with a combining mark
        ("\uff21\uff22\uff23", "ABC"),  # full-width ABC: letters with ASCII equivalents
        ("李小龍", "???"),
        ("dragon 🐉", f"dragon {MISSING_GLYPH}"),
        ("a\u200db", "ab"),  # zero-width joiner: a format character, dropped
        ("two\nlines\tand  spaces", "two lines and spaces"),
        ("  \u200b ", MISSING_GLYPH),  # nothing drawable left: never empty
    ],
)
def test_drawable_text_replaces_what_the_font_lacks_when_a_name_has_any_unicode(
    name: str, drawn: str
) -> None:
    assert drawable_text(name, _ascii_only) == drawn


def test_drawable_text_keeps_characters_the_font_has_when_they_are_not_ascii() -> None:
    assert drawable_text("Zoë 李", lambda _: True) == "Zoë 李"


def test_truncate_to_width_keeps_the_text_when_it_fits() -> None:
    assert truncate_to_width("Alice", 5, len) == "Alice"


def test_truncate_to_width_cuts_to_the_longest_prefix_with_an_ellipsis_when_too_wide() -> None:
    cut = truncate_to_width("abcdefghij", 6, len)
    assert cut == f"abcde{ELLIPSIS}"
    assert len(cut) <= 6


def test_truncate_to_width_drops_spaces_before_the_ellipsis_when_cut_at_a_word() -> None:
    assert truncate_to_width("abc defgh", 5, len) == f"abc{ELLIPSIS}"


def test_truncate_to_width_fits_a_300_character_name_when_widths_vary() -> None:
    name = "Wm" * 150

    def width(text: str) -> float:
        return sum(3.0 if char == "W" else 1.5 for char in text)

    cut = truncate_to_width(name, 100, width)
    assert width(cut) <= 100
    assert width(cut[:-1] + name[len(cut) - 1] + ELLIPSIS) > 100  # one more would not fit
    assert cut.endswith(ELLIPSIS)


def test_truncate_to_width_returns_the_ellipsis_alone_when_nothing_else_fits() -> None:
    assert truncate_to_width("abc", 1, len) == ELLIPSIS


@pytest.mark.parametrize(
    ("name", "initial"),
    [("alice", "A"), ("  _bob", "B"), ("Émile", "E"), ("🐉", MISSING_GLYPH), ("42", "4")],
)
def test_initial_of_is_the_first_drawable_letter_when_a_default_avatar_is_drawn(
    name: str, initial: str
) -> None:
    assert initial_of(name, _ascii_only) == initial
