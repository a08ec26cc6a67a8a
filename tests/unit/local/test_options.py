"""``shoal local up`` options: defaults, the command line, and errors naming the option."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest

from shoal.local.options import DISCORD_REST_URL, LocalOptions, build_local_parser, local_options
from shoal.local.running import run_local_up
from shoal.local.simulating import simulator_argv

_REAL_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.cmVhbA"  # noqa: S105 - a fake token


def _options(*argv: str, environ: dict[str, str] | None = None) -> LocalOptions:
    return local_options(build_local_parser().parse_args(argv), environ or {})


def test_local_options_match_the_dataclass_defaults_when_no_argument_is_given() -> None:
    options = _options()

    assert options == LocalOptions()
    assert options.guilds == 20_000
    assert options.is_simulated is True
    assert options.worker_command == (sys.executable, "-m", "shoal", "worker")
    assert (options.messages_per_s, options.interactions_per_s) == (20.0, 5.0)


def test_local_options_read_every_option_when_given_on_the_command_line() -> None:
    options = _options(
        "--guilds=200",
        "--max-concurrency=2",
        "--identify-window=0.2",
        "--members-per-guild=5",
        "--sim-port=5000",
        "--redis-url=redis://127.0.0.1:1/0",
        "--postgres-dsn=postgresql://u@h/d",
        "--shards=4",
        "--shards-per-pod=2",
        "--bot-name=mybot",
        "--worker-command=/usr/bin/env python3 -m 'my worker'",
        "--messages-per-s=0",
        "--interactions-per-s=1.5",
        "--commands=ping, shard",
        "--refresh=0.5",
        "--duration=30",
        "--heartbeat-interval=2000",
        "--workdir=/tmp/shoal-run",
    )

    assert options == LocalOptions(
        guilds=200,
        max_concurrency=2,
        identify_window_s=0.2,
        members_per_guild=5,
        sim_port=5000,
        redis_url="redis://127.0.0.1:1/0",
        postgres_dsn="postgresql://u@h/d",
        shards=4,
        shards_per_worker=2,
        bot_name="mybot",
        worker_command=("/usr/bin/env", "python3", "-m", "my worker"),
        messages_per_s=0.0,
        interactions_per_s=1.5,
        commands=("ping", "shard"),
        refresh_s=0.5,
        duration_s=30.0,
        heartbeat_interval_ms=2_000,
        workdir=Path("/tmp/shoal-run"),  # noqa: S108 -- a value, nothing is written there
    )


def test_local_options_take_the_token_from_the_environment_when_no_simulator_runs() -> None:
    options = _options("--no-simulator", environ={"SHOAL_TOKEN": _REAL_TOKEN})

    assert options.is_simulated is False
    assert options.token == _REAL_TOKEN
    assert options.rest_url == DISCORD_REST_URL
    assert _REAL_TOKEN not in repr(options)


def test_local_options_never_give_a_real_token_to_the_simulator_when_one_is_in_the_env() -> None:
    assert _options(environ={"SHOAL_TOKEN": _REAL_TOKEN}).token is None


def test_local_options_raise_naming_the_token_when_no_simulator_runs_without_one() -> None:
    with pytest.raises(ValueError, match=r"^--no-simulator needs the bot's token"):
        _options("--no-simulator")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"guilds": -1}, "--guilds must be at least 0"),
        ({"max_concurrency": 0}, "--max-concurrency must be at least 1"),
        ({"shards": 0}, "--shards must be at least 1"),
        ({"shards_per_worker": 0}, "--shards-per-worker must be at least 1"),
        ({"identify_window_s": 0.0}, "--identify-window must be a positive number"),
        ({"refresh_s": float("nan")}, "--refresh must be a positive number"),
        ({"duration_s": -1.0}, "--duration must be a positive number"),
        ({"messages_per_s": -1.0}, "--messages-per-s must be a finite number"),
        ({"interactions_per_s": float("inf")}, "--interactions-per-s must be a finite number"),
        ({"worker_command": ()}, "--worker-command must name a program"),
        ({"commands": ()}, "--commands must name at least one command"),
        ({"reshard_interval_s": 0.0}, "--reshard-interval must be a positive number"),
        ({"heartbeat_interval_ms": 0}, "--heartbeat-interval must be at least 1"),
        ({"grow_guilds_per_s": 0.0}, "--grow-rate must be a positive number"),
        ({"grow_guilds_per_s": 9.0, "is_simulated": False, "token": "t"}, "--grow adds guilds"),
        ({"grow_guilds_per_s": 9.0, "shards": 4}, "--grow needs the planned shard count"),
    ],
)
def test_local_options_raise_naming_the_option_when_a_value_is_wrong(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}"):
        dataclasses.replace(LocalOptions(), **changes)


def test_simulator_argv_passes_the_shape_of_discord_when_starting_the_simulator() -> None:
    options = LocalOptions(
        guilds=200,
        max_concurrency=2,
        identify_window_s=0.2,
        sim_port=5000,
        heartbeat_interval_ms=2_000,
    )

    argv = simulator_argv(options, Path("run/simulator.url"))

    assert argv == [
        sys.executable,
        "-m",
        "shoal",
        "sim",
        "discord",
        "--guilds",
        "200",
        "--max-concurrency",
        "2",
        "--identify-window",
        "0.2",
        "--members-per-guild",
        "30",
        "--heartbeat-interval",
        "2000",
        "--privileged-intents",
        "2",  # the worker's default asks for GUILD_MEMBERS, approved as in the portal
        "--port",
        "5000",
        "--url-file",
        "run/simulator.url",
        "--log-level",
        "WARNING",
    ]


def test_simulator_argv_gives_the_simulator_the_token_when_one_is_chosen() -> None:
    argv = simulator_argv(LocalOptions(token=_REAL_TOKEN), Path("u"))

    assert argv[-2:] == ["--token", _REAL_TOKEN]


def test_run_local_up_exits_naming_the_option_when_a_value_is_bad(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        run_local_up(["--shards", "0"], {})

    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "shoal local up: error: --shards must be at least 1, got 0" in error


def test_local_options_grow_at_the_given_rate_only_when_grow_is_asked() -> None:
    assert _options().grow_guilds_per_s is None
    assert _options("--grow-rate=50").grow_guilds_per_s is None
    assert _options("--grow").grow_guilds_per_s == 200.0
    assert _options("--grow", "--grow-rate=50", "--reshard-interval=2").grow_guilds_per_s == 50.0
    assert _options("--reshard-interval=2").reshard_interval_s == 2.0
