"""Commands over hikari-arc: feature modules, and the middleware every command runs through.

Owns loading feature modules into an ``arc.GatewayClient`` and what happens around each
handler: claiming the interaction (exactly one generation answers), rate limits, error
replies with a reference, automatic deferral, command metrics; and ``sync-commands``.
Does not own any command (see ``shoal.features``) nor the bot it runs on (``shoal.gateway``).
"""

from __future__ import annotations

__all__: list[str] = []
