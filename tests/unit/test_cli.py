"""The ``shoal`` command line's own answers: help, usage, and arguments it refuses."""

from __future__ import annotations

import pytest

from shoal.cli import main
from shoal.config_variables import COMMAND_ENVIRONMENTS, variables_of

_SETTINGS_COMMANDS = sorted(COMMAND_ENVIRONMENTS)


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("command", _SETTINGS_COMMANDS)
def test_help_says_what_the_command_does_and_lists_its_variables_when_asked(
    command: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, flag]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"usage: shoal {command} [-h]\n\n")
    assert "reads SHOAL_* variables" not in out
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  SHOAL_")]
    expected = variables_of(COMMAND_ENVIRONMENTS[command].groups)
    assert listed == [v.name for v in expected]
    for variable in expected:
        assert variable.meaning in out
    assert out.count("(required)") == sum(v.is_required for v in expected)


def test_help_names_each_default_when_the_worker_lists_its_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["worker", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Run this pod's shards" in out
    assert "SHOAL_TOKEN              the bot token (never logged) (required)" in out
    assert "(default: https://discord.com/api/v10)" in out
    assert "SHOAL_HTTP_PORT" in out
    assert "(default: 8080)" in out
    assert "SHOAL_LOG_LEVEL          DEBUG, INFO, WARNING or ERROR (default: INFO)" in out


def test_status_help_says_stale_entries_are_not_ready_and_logs_warnings_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["status", "-h"]) == 0
    out = capsys.readouterr().out
    assert "'stale (ready N s ago)'" in out
    assert "SHOAL_LOG_LEVEL  DEBUG, INFO, WARNING or ERROR (default: WARNING)" in out
    assert "SHOAL_POSTGRES_DSN" not in out


@pytest.mark.parametrize("command", _SETTINGS_COMMANDS)
def test_other_arguments_exit_2_and_point_to_help_when_given(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--verbose"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"shoal {command}: takes no arguments; it reads SHOAL_* variables "
        f"(see 'shoal {command} --help')\n"
    )


def test_an_unknown_command_is_named_before_the_usage_when_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    first, rest = err.split("\n", 1)
    assert first == "shoal: unknown command 'frobnicate'"
    assert rest.startswith("usage: shoal <command> [options]\n")


def test_an_unknown_command_is_cut_and_made_printable_when_it_is_long(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["x" * 500 + "\x1b[2J"]) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first == f"shoal: unknown command '{'x' * 37}...'"


def test_an_unknown_local_subcommand_names_both_words_when_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["local", "down"]) == 2
    assert capsys.readouterr().err.startswith("shoal: unknown command 'local down'\nusage:")


def test_no_command_prints_the_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("usage: shoal <command> [options]\n")
    assert captured.out == ""
