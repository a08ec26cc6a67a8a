"""Why a local run cannot go on.

Owns :class:`LocalUpError`, raised by the parts of ``shoal local up`` for a problem a person
must fix (a program that does not start, a token Discord refuses); ``local_up`` prints its
message and exits with status 1. Server start failures have their own errors in
:mod:`shoal.local.servers`, shared with the test suite.
"""

from __future__ import annotations

__all__ = ["LocalUpError"]


class LocalUpError(RuntimeError):
    """A local run cannot go on; the message says why and, where it can, what to do."""
