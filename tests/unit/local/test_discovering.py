"""Reading ``GET /gateway/bot``."""

from __future__ import annotations

from shoal.local.discovering import GatewayBotInfo, gateway_bot_info


def test_gateway_bot_info_reads_the_plan_inputs_when_discord_answers() -> None:
    body = {
        "url": "wss://gateway.discord.gg",
        "shards": 20,
        "session_start_limit": {
            "total": 1000,
            "remaining": 990,
            "reset_after": 14_400_000,
            "max_concurrency": 16,
        },
    }

    assert gateway_bot_info(body) == GatewayBotInfo(
        recommended_shards=20, max_concurrency=16, session_starts_remaining=990
    )
