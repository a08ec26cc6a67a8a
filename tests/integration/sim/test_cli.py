"""The `shoal` command line: the simulator as a process, option errors, help and usage."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

import aiohttp
import pytest

from shoal import cli as shoal_cli
from shoal_sim.discord import cli as sim_cli
from shoal_sim.discord.settings import DEFAULT_TOKEN

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

#: The console script installed next to the interpreter running the tests.
_SHOAL: Final = Path(sys.executable).parent / "shoal"
_START_S: Final = 15.0
_STOP_S: Final = 5.0
_POLL_S: Final = 0.02


def _written_line(path: Path) -> str | None:
    """Return the first line of ``path`` once it is whole (the file may be mid-write)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text.strip() if text.endswith("\n") else None


async def _url_from(url_file: Path, process: asyncio.subprocess.Process) -> str:
    """Wait until the simulator has written its whole URL line (or has died)."""
    async with asyncio.timeout(_START_S):
        while True:
            assert process.returncode is None, "the simulator exited before listening"
            if (url := await asyncio.to_thread(_written_line, url_file)) is not None:
                return url
            await asyncio.sleep(_POLL_S)


@contextlib.asynccontextmanager
async def _simulator_process(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        _SHOAL,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_simulator_serves_and_stops_cleanly_when_run_as_a_process(tmp_path: Path) -> None:
    url_file = tmp_path / "url"
    async with _simulator_process(
        "sim", "discord", "--guilds", "50", "--port", "0", "--url-file", str(url_file)
    ) as process:
        rest_url = await _url_from(url_file, process)
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{rest_url}/gateway/bot", headers={"Authorization": f"Bot {DEFAULT_TOKEN}"}
            ) as response,
        ):
            status, gateway = response.status, await response.json()
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(_STOP_S):
            stdout, stderr = await process.communicate()
    assert status == 200
    assert gateway["url"].startswith("ws://127.0.0.1:")
    assert gateway["shards"] == 1
    assert rest_url.startswith("http://127.0.0.1:")
    assert rest_url.endswith("/api/v10")
    assert process.returncode == 0, stderr.decode()
    assert "ready with 50 guilds" in stdout.decode()
    assert "Traceback" not in stderr.decode()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--max-concurrency", "0"], "--max-concurrency"),
        (["--guilds", "-1"], "--guilds"),
        (["--identify-window", "0"], "--identify-window"),
        (["--global-rate", "0"], "--global-rate"),
        (["--roles-per-guild", "5000"], "--roles-per-guild"),
        (["--port", "eighty"], "--port"),
        (["--token", "not-a-token"], "--token"),
        (["--log-level", "LOUD"], "--log-level"),
        (["--no-such-option"], "--no-such-option"),
    ],
)
def test_sim_cli_exits_naming_the_option_when_a_value_is_bad(
    capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        sim_cli.main(argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "shoal sim discord: error:" in error
    assert named in error


def test_sim_cli_lists_its_options_when_asked_for_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        shoal_cli.main(["sim", "discord", "--help"])
    assert exited.value.code == 0
    assert "--max-concurrency" in capsys.readouterr().out


def test_shoal_lists_its_commands_when_asked_for_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert shoal_cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "sim discord" in out
    assert "local up" in out


@pytest.mark.parametrize("argv", [[], ["bogus"], ["sim"], ["sim", "slack"]])
def test_shoal_prints_usage_and_fails_when_the_command_is_unknown(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert shoal_cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    first, _, rest = captured.err.partition("\n")
    if argv:
        assert first == f"shoal: unknown command {' '.join(argv)!r}"
        assert rest.startswith("usage: shoal <command>")
    else:
        assert captured.err.startswith("usage: shoal <command>")


def test_local_up_names_the_option_when_a_value_is_bad(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        shoal_cli.main(["local", "up", "--guilds", "-5"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "shoal local up: error:" in error
    assert "--guilds" in error
