"""Forced gateway trouble: op 7, op 9, close codes and dropped connections on demand.

Owns what the control API's ``POST /_sim/shards/{id}`` does to the chosen sessions. It
does not choose them (the control API does) nor decide what a close code ends
(:meth:`~.hub.Gateway.connection_closed` does, as for any close).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal_sim.discord.gateway.closing import CloseCode

if TYPE_CHECKING:
    from shoal_sim.discord.gateway.hub import Gateway
    from shoal_sim.discord.gateway.sessions import Session

__all__ = ["force"]

_OP_RECONNECT: Final = 7


def force(hub: Gateway, sessions: list[Session], action: str, *, code: int | None = None) -> int:
    """Apply a control action to sessions; returns how many were connected.

    ``reconnect`` sends op 7, ``invalidate`` op 9 ``d:false`` (the session ends),
    ``invalidate-resumable`` op 9 ``d:true``, ``close`` closes with ``code`` (the
    session stays resumable unless the code is fatal or 4009), ``drop`` cuts the
    TCP connection with no close frame.
    """
    touched = 0
    for session in sessions:
        connection = session.connection
        if connection is None:
            continue
        touched += 1
        if action == "reconnect":
            connection.send_op(_OP_RECONNECT, None)
        elif action == "invalidate":
            hub.sessions.remove(session)
            # The connection may IDENTIFY again (Discord: "reconnect and identify").
            session.connection = None
            connection.session = None
            hub.invalidate_session(connection, "forced")
        elif action == "invalidate-resumable":
            hub.invalidate_session(connection, "forced resumable", is_resumable=True)
        elif action == "close":
            close_code = code or CloseCode.UNKNOWN_ERROR
            reason = (
                CloseCode(close_code).reason if close_code in CloseCode.__members__.values() else ""
            )
            connection.close(close_code, reason)
        elif action == "drop":
            transport = connection.ws._req.transport if connection.ws._req else None  # noqa: SLF001
            if transport is not None:
                transport.abort()
        else:
            msg = f"unknown action {action!r}"
            raise ValueError(msg)
    return touched
