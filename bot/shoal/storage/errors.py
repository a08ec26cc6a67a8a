"""Storage errors, and the redaction that keeps passwords out of their messages.

Owns :class:`StorageUnavailableError` (a server named by a ``SHOAL_*`` variable cannot be
reached at start) and :func:`redacted_url`. Does not own migration errors (see
`shoal.storage.migration_plans`) nor settings errors (see `shoal.config`).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["StorageUnavailableError", "redacted_url"]

_MASK: Final = "***"
#: Query parameters that libpq, asyncpg and redis-py accept as a password.
_SECRET_PARAMETERS: Final = frozenset({"password", "sslpassword"})


class StorageUnavailableError(ConnectionError):
    """A server cannot be reached (or refuses us); the message names the ``SHOAL_*`` variable.

    The message never holds a password: URLs in it pass through :func:`redacted_url`.
    """

    def __init__(self, variable: str, url: str, reason: str, *, is_transient: bool = False) -> None:
        """Say which variable points at the unreachable server, and why it failed."""
        super().__init__(
            f"{variable}: cannot connect to {redacted_url(url)}: {_scrubbed(reason, url)}"
        )
        self.variable = variable
        """The ``SHOAL_*`` variable holding the server's URL."""
        self.is_transient = is_transient
        """True when the server may simply not be up yet (refused, timed out): trying again
        can help. False for what it cannot (a bad URL, a wrong password)."""

    @classmethod
    def from_error(
        cls, variable: str, url: str, error: BaseException, *, is_transient: bool = False
    ) -> StorageUnavailableError:
        """Build the error from the driver's exception (its type and message, scrubbed)."""
        detail = str(error).strip()
        name = type(error).__name__
        return cls(
            variable, url, f"{name}: {detail}" if detail else name, is_transient=is_transient
        )


def redacted_url(url: str) -> str:
    """Return ``url`` with any password (in the user info or the query) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not even a URL (e.g. a bad port): show nothing of it
        return _MASK
    netloc = parts.netloc
    if password is not None:
        user_info, _, host = netloc.rpartition("@")
        user = user_info.partition(":")[0]
        netloc = f"{user}:{_MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, _MASK if k.lower() in _SECRET_PARAMETERS else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _scrubbed(text: str, url: str) -> str:
    """Remove the URL's secrets from ``text`` (a driver's error message may quote them)."""
    for secret in _secrets_of(url):
        text = text.replace(secret, _MASK)
    return text


def _secrets_of(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
        secrets = [parts.password or ""]
    except ValueError:
        return [url]  # unparseable: any part of it might be the password
    secrets += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMETERS]
    secrets += [unquote(secret) for secret in secrets]  # as written in the URL, and decoded
    return [secret for secret in secrets if secret]
