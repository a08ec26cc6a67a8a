"""The banner ``shoal local up`` prints once the fleet has started."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shoal.local.banner import banner_text, redact_dsn
from shoal.local.plans import FleetLayout, FleetTargets
from shoal.local.simulating import LoadRun

if TYPE_CHECKING:
    from shoal.planning.shards import ShardRange

_LAYOUT = FleetLayout(total_shards=5, shards_per_worker=4, max_concurrency=1)
_TARGETS = FleetTargets(
    token="MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.c2lt",  # noqa: S106 - the simulator's, public
    rest_url="http://127.0.0.1:5000/api/v10",
    redis_url="redis://127.0.0.1:6000/0",
    postgres_dsn="postgresql://bot:pw@127.0.0.1:7000/bot",
    bot_name="shoal",
)


@dataclasses.dataclass(frozen=True)
class _Worker:
    name: str
    shards: ShardRange
    http_port: int


_WORKERS = [
    _Worker("local-0", _LAYOUT.shard_range(0), 9000),
    _Worker("local-1", _LAYOUT.shard_range(1), 9001),
]


def test_banner_text_says_where_everything_is_when_running_against_the_simulator() -> None:
    load = LoadRun(messages_per_s=20, interactions_per_s=5, duration_s=60, commands=("ping",))

    text = banner_text(
        targets=_TARGETS,
        simulator_url="http://127.0.0.1:5000",
        guilds=20_000,
        layout=_LAYOUT,
        workers=_WORKERS,
        load=load,
        workdir=Path("run/shoal-local-x"),
    )

    assert text.splitlines() == [
        "",
        "Shoal is running locally.",
        "  Discord simulator : http://127.0.0.1:5000/api/v10  (20,000 guilds)",
        (
            "  Control API       : http://127.0.0.1:5000/_sim/info  "
            "(stats: http://127.0.0.1:5000/_sim/stats)"
        ),
        f"  Bot token         : {_TARGETS.token}",
        "  Redis             : redis://127.0.0.1:6000/0",
        "  PostgreSQL        : postgresql://bot:***@127.0.0.1:7000/bot",
        "  Shards            : 5 (max_concurrency 1) in 2 workers of 4",
        "    local-0   shards 0-3     http://127.0.0.1:9000/metrics",
        "    local-1   shard 4        http://127.0.0.1:9001/metrics",
        "  Load              : 20 messages/s, 5 interactions/s (/ping)",
        "  Logs              : run/shoal-local-x",
    ]


def test_banner_text_never_shows_the_token_when_connecting_to_discord() -> None:
    real = dataclasses.replace(_TARGETS, rest_url="https://discord.com/api/v10")

    text = banner_text(
        targets=real,
        simulator_url=None,
        guilds=None,
        layout=_LAYOUT,
        workers=_WORKERS,
        load=None,
        workdir=Path("run"),
    )

    assert "  Discord           : https://discord.com/api/v10" in text
    assert real.token not in text
    assert "Load" not in text


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        (
            "postgresql://shoal@127.0.0.1:5432/postgres",
            "postgresql://shoal@127.0.0.1:5432/postgres",
        ),
        ("postgresql://bot:s3cr%40t@db:5432/bot", "postgresql://bot:***@db:5432/bot"),
        ("postgres://u:p@h/d?sslmode=require", "postgres://u:***@h/d?sslmode=require"),
    ],
)
def test_redact_dsn_hides_only_the_password_when_showing_a_dsn(dsn: str, shown: str) -> None:
    assert redact_dsn(dsn) == shown
