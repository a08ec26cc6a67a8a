"""Listing guild members page by page (``limit``, ``after``) and searching them by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pytest

from shoal_sim.discord.world import generated_member_id

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.rest.api import Api

_MEMBERS: Final = "/guilds/{guild_id}/members"
_SEARCH: Final = _MEMBERS + "/search"
_MEMBER_NICK: Final = _MEMBERS + "/{user_id}"


def _ids(body: list[dict[str, object]]) -> list[int]:
    return [int(m["user"]["id"]) for m in body]  # type: ignore[index]


async def test_member_list_answers_one_member_when_no_limit_is_given(
    api: Api, sim: Simulator, guild: Guild
) -> None:
    page = await api.call("GET", _MEMBERS, path={"guild_id": guild.id}, expect=200)
    assert _ids(page.body) == [min(sim.world.contents(guild)[2])]


async def test_member_list_pages_through_every_member_when_after_follows_the_last_id(
    api: Api, sim: Simulator, guild: Guild
) -> None:
    seen: list[int] = []
    after = 0
    while True:
        page = await api.call(
            "GET",
            _MEMBERS,
            path={"guild_id": guild.id},
            query={"limit": "7", "after": str(after)},
            expect=200,
        )
        ids = _ids(page.body)
        assert len(ids) <= 7
        if not ids:
            break
        seen += ids
        after = ids[-1]
    assert seen == sorted(sim.world.contents(guild)[2])
    assert "GET /guilds/{guild_id}/members 200" in api.checked


async def test_member_list_answers_every_member_when_limit_is_the_maximum(
    api: Api, sim: Simulator, guild: Guild
) -> None:
    page = await api.call(
        "GET", _MEMBERS, path={"guild_id": guild.id}, query={"limit": "1000"}, expect=200
    )
    assert _ids(page.body) == sorted(sim.world.contents(guild)[2])
    assert len(page.body) == guild.member_count


@pytest.mark.parametrize(
    ("limit", "code"),
    [("0", "NUMBER_TYPE_MIN"), ("1001", "NUMBER_TYPE_MAX"), ("many", "NUMBER_TYPE_COERCE")],
)
async def test_member_list_answers_invalid_form_body_when_limit_is_out_of_range(
    api: Api, guild: Guild, limit: str, code: str
) -> None:
    refused = await api.call(
        "GET", _MEMBERS, path={"guild_id": guild.id}, query={"limit": limit}, expect=400
    )
    assert refused.body["code"] == 50035
    assert refused.body["message"] == "Invalid Form Body"
    assert refused.body["errors"]["limit"]["_errors"][0]["code"] == code


async def test_member_search_finds_name_prefixes_in_join_order_when_queried(
    api: Api, sim: Simulator, guild: Guild
) -> None:
    g = {"guild_id": guild.id}
    first = generated_member_id(guild, 0)
    await api.call(
        "PATCH",
        _MEMBER_NICK,
        path=g | {"user_id": generated_member_id(guild, 5)},
        json={"nick": "Zebra"},
        expect=200,
    )
    default = await api.call("GET", _SEARCH, path=g, query={"query": "USER"}, expect=200)
    many = await api.call(
        "GET", _SEARCH, path=g, query={"query": "user", "limit": "1000"}, expect=200
    )
    by_nick = await api.call(
        "GET", _SEARCH, path=g, query={"query": "zeb", "limit": "10"}, expect=200
    )
    none = await api.call("GET", _SEARCH, path=g, query={"query": "nobody-"}, expect=200)
    generated = guild.generated_members
    assert _ids(default.body) == [first]  # default limit 1, case ignored, the first to join
    assert _ids(many.body) == [generated_member_id(guild, i) for i in range(generated)]
    assert _ids(by_nick.body) == [generated_member_id(guild, 5)]
    assert none.body == []
    assert sim.world.bot_member(guild).user_id not in _ids(many.body)


async def test_member_search_answers_invalid_form_body_when_query_is_missing(
    api: Api, guild: Guild
) -> None:
    refused = await api.call("GET", _SEARCH, path={"guild_id": guild.id}, expect=400)
    assert refused.body["code"] == 50035
    assert refused.body["errors"]["query"]["_errors"][0]["code"] == "BASE_TYPE_REQUIRED"
    too_many = await api.call(
        "GET",
        _SEARCH,
        path={"guild_id": guild.id},
        query={"query": "u", "limit": "1001"},
        expect=400,
    )
    assert too_many.body["errors"]["limit"]["_errors"][0]["code"] == "NUMBER_TYPE_MAX"
