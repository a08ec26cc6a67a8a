"""The private seams of hikari-arc 2.3 the automatic deferral relies on.

If an arc upgrade renames them, this fails before a deferral can race a reply.
"""

from __future__ import annotations

import inspect

import arc


def test_context_keeps_the_response_lock_and_issued_flag_when_arc_is_2_3() -> None:
    assert arc.__version__.startswith("2.3.")
    assert {"_response_lock", "_issued_response"} <= set(arc.Context.__slots__)
    init = inspect.getsource(arc.Context.__init__)
    assert "self._response_lock: asyncio.Lock = asyncio.Lock()" in init
    assert "self._issued_response: bool = False" in init
    respond = inspect.getsource(arc.Context.respond)
    assert "async with self._response_lock:" in respond
    assert "if self._issued_response:" in respond
