"""Gateway sessions without a server: sequence numbers, the replay buffer, routing by shard."""

from __future__ import annotations

import pytest

from shoal_sim.discord.gateway.sessions import Session, SessionIndex

_APP = 1
_OTHER_APP = 2


def _session(
    shard_id: int = 0, shard_count: int = 1, *, app_id: int = _APP, replay_buffer: int = 100
) -> Session:
    return Session(
        app_id=app_id,
        shard_id=shard_id,
        shard_count=shard_count,
        intents=1,
        replay_buffer=replay_buffer,
    )


def _guild(stamp: int) -> int:
    """Return a guild id whose timestamp bits are ``stamp`` (routing looks at those only)."""
    return (stamp << 22) | 0x2A_5A5A


def _dispatched(count: int, *, replay_buffer: int = 100) -> Session:
    session = _session(replay_buffer=replay_buffer)
    for index in range(count):
        session.dispatch(b"MESSAGE_CREATE", b'{"n":%d}' % index)
    return session


def test_session_numbers_dispatches_from_one_when_created() -> None:
    session = _dispatched(3)
    assert session.seq == 3
    assert [entry[0] for entry in session.buffer] == [1, 2, 3]
    assert session.buffer[0] == (1, b"MESSAGE_CREATE", b'{"n":0}')


def test_session_ids_differ_when_sessions_are_created() -> None:
    assert _session().id != _session().id


@pytest.mark.parametrize(("seq", "expected"), [(0, [1, 2, 3, 4]), (2, [3, 4]), (3, [4])])
def test_missed_since_returns_what_follows_seq_when_it_is_buffered(
    seq: int, expected: list[int]
) -> None:
    assert [entry[0] for entry in _dispatched(4).missed_since(seq) or []] == expected


@pytest.mark.parametrize("seq", [4, 9])
def test_missed_since_returns_nothing_when_the_client_is_up_to_date(seq: int) -> None:
    assert _dispatched(4).missed_since(seq) == []


@pytest.mark.parametrize(("seq", "is_replayable"), [(1, False), (2, True), (4, True)])
def test_missed_since_returns_none_when_a_missed_dispatch_left_the_buffer(
    seq: int, *, is_replayable: bool
) -> None:
    session = _dispatched(6, replay_buffer=4)  # keeps 3, 4, 5, 6
    missed = session.missed_since(seq)
    assert (missed is not None) == is_replayable
    if missed is not None:
        assert [entry[0] for entry in missed] == list(range(seq + 1, 7))


def test_covering_yields_the_owning_shard_of_every_count_when_shard_counts_differ() -> None:
    index = SessionIndex()
    sessions = {
        (shard_id, count): _session(shard_id, count)
        for count in (1, 2, 3)
        for shard_id in range(count)
    }
    for session in sessions.values():
        index.add(session)
    index.add(_session(0, 1, app_id=_OTHER_APP))
    for stamp in range(12):
        covering = {(s.shard_id, s.shard_count) for s in index.covering(_APP, _guild(stamp))}
        assert covering == {(stamp % 1, 1), (stamp % 2, 2), (stamp % 3, 3)}


def test_covering_yields_every_session_of_a_shard_when_it_runs_twice() -> None:
    index = SessionIndex()
    first, second = _session(1, 2), _session(1, 2)
    index.add(first)
    index.add(second)
    assert list(index.covering(_APP, _guild(5))) == [first, second]
    assert list(index.covering(_APP, _guild(4))) == []


def test_covering_yields_nothing_when_the_application_has_no_session() -> None:
    index = SessionIndex()
    index.add(_session(0, 1, app_id=_OTHER_APP))
    assert list(index.covering(_APP, _guild(0))) == []


def test_remove_stops_routing_and_ends_the_session_when_called() -> None:
    index = SessionIndex()
    kept, removed = _session(0, 2), _session(0, 2)
    index.add(kept)
    index.add(removed)
    index.remove(removed)
    index.remove(removed)  # twice is harmless
    assert list(index.covering(_APP, _guild(2))) == [kept]
    assert not removed.is_live
    assert removed.id not in index.by_id
    index.remove(kept)
    assert list(index.covering(_APP, _guild(2))) == []
    assert index.counts_by_shard() == {}


def test_of_shard_filters_by_count_when_one_is_given() -> None:
    index = SessionIndex()
    old, new, other = _session(0, 1), _session(0, 2), _session(1, 2)
    for session in (old, new, other):
        index.add(session)
    assert index.of_shard(_APP, 0) == [old, new]
    assert index.of_shard(_APP, 0, 2) == [new]
    assert index.of_shard(_APP, 1, 1) == []
    assert index.of_app(_APP) == [old, new, other]
    assert index.counts_by_shard() == {"0/1": 1, "0/2": 1, "1/2": 1}
