"""Storage errors name the variable and never show a password."""

from __future__ import annotations

import pytest

from shoal.storage.errors import StorageUnavailableError, redacted_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://shoal:s3cret@db:5432/shoal", "postgresql://shoal:***@db:5432/shoal"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql://shoal:p@ss@db/shoal", "postgresql://shoal:***@db/shoal"),
        (
            "postgresql://db/shoal?user=shoal&password=s3cret",
            "postgresql://db/shoal?user=shoal&password=***",
        ),
        ("postgresql://shoal@db/shoal", "postgresql://shoal@db/shoal"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
    ],
)
def test_redacted_url_masks_the_password_when_the_url_holds_one(url: str, expected: str) -> None:
    assert redacted_url(url) == expected


def test_redacted_url_masks_everything_when_the_url_cannot_be_parsed() -> None:
    assert redacted_url("postgresql://shoal:s3cret@[db/shoal") == "***"


def test_storage_unavailable_error_names_variable_and_scrubs_password_when_reason_quotes_it() -> (
    None
):
    url = "postgresql://shoal:s3cr%40t@db/shoal"
    error = StorageUnavailableError.from_error(
        "SHOAL_POSTGRES_DSN", url, OSError("refused by db for shoal:s3cr@t and s3cr%40t")
    )

    message = str(error)
    assert message.startswith("SHOAL_POSTGRES_DSN: cannot connect to postgresql://shoal:***@db")
    assert "OSError: refused by db" in message
    assert "s3cr" not in message
    assert error.variable == "SHOAL_POSTGRES_DSN"
