"""The close-code policy."""

from __future__ import annotations

import pytest

from shoal.planning.closing import FATAL_REASONS, CloseAction, action_for_close


@pytest.mark.parametrize("code", [4004, 4010, 4011, 4012, 4013, 4014])
def test_action_for_close_stops_when_the_code_is_fatal(code: int) -> None:
    assert action_for_close(code) is CloseAction.STOP
    assert FATAL_REASONS[code]


@pytest.mark.parametrize("code", [1000, 1001, 4007, 4009])
def test_action_for_close_identifies_when_discord_ended_the_session(code: int) -> None:
    assert action_for_close(code) is CloseAction.IDENTIFY


@pytest.mark.parametrize("code", [1006, 3000, 4000, 4001, 4002, 4003, 4005, 4008])
def test_action_for_close_resumes_when_the_session_survives(code: int) -> None:
    assert action_for_close(code) is CloseAction.RESUME
