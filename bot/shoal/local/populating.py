"""Populating the showcase guild: its admin sets up onboarding and a role menu, members use them.

Owns :class:`CommunityDriver`, a task of a local run started once the fleet is READY.
First, in the simulator's first guild and through the REAL bot, as the guild's admin
would: screening on, the roles (:data:`shoal.local.community.SHOWCASE_ROLES`, created
through the control API as the owner does), ``/onboarding setup``, the rules through
``/onboarding rules`` → "Edit rules" → the modal, ``/onboarding post``, the role menus'
allow-list (``/settings set``), ``/rolemenu create``, ``add`` and ``post``. A step the bot
refuses is said in one line and the rest goes on; a bot that never answers ends the
showcase with one line. Then, at a steady pace until the run ends: members join pending,
complete screening a moment later and press "I agree" on the rules message the bot
posted; members pick colours in the posted menu. Each click's answer is read back from
the simulator (and an agreed member's roles), which is what the status shows
(:attr:`CommunityDriver.figures`). Every failure of the simulator or the bot is quiet
here: a fleet down for a while costs clicks, never a line per click. Does not decide
what to send or how to read answers (:mod:`shoal.local.community`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from shoal.local import community
from shoal.local.community import CommunityFigures, ShowcaseGuild, ShowcaseRoles

if TYPE_CHECKING:
    from collections.abc import Callable

    from shoal.local.community import MenuMessage, Reply
    from shoal.local.simulating import SimulatorControl

__all__ = ["CommunityDriver", "CommunityPace"]

_TICK_S: Final = 0.25  # how often the steady phase looks for what is due
_SCREENING_AFTER_S: Final = 1.0  # a joiner reads the screening form this long
_AGREE_AFTER_S: Final = 1.0  # and presses "I agree" this long after screening
_ANSWER_WAIT_S: Final = 4.0  # past the simulator's 3 s interaction deadline
_ANSWER_POLL_S: Final = 0.1
_CHECK_AFTER_S: Final = 1.0  # a click's answer is read back this long after it was sent
_GIVE_UP_AFTER_S: Final = 10.0  # a click still unanswered then was lost (a fault)
_STEP_TRIES: Final = 3  # a setup step that got no answer (a worker restarting) is sent again
_RETRY_AFTER_S: Final = 2.0
_MAX_IN_FLIGHT: Final = 200  # clicks awaiting their check; more are not sent (a stalled bot)
_LOST: Final = frozenset({"unanswered", "undelivered"})  # the simulator's outcomes of a lost one


@dataclasses.dataclass(frozen=True, slots=True)
class CommunityPace:
    """How fast the showcase's members act (0 turns one off)."""

    joins_per_s: float
    """New members per second (each then completes screening and agrees)."""
    picks_per_s: float
    """Role menu choices per second."""


@dataclasses.dataclass(slots=True)
class _Joiner:
    user_id: int
    joined_at_s: float
    screened_at_s: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Click:
    interaction_id: int
    sent_at_s: float
    kind: str  # "agree" or "pick"
    user_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Showcase:
    guild: ShowcaseGuild
    roles: ShowcaseRoles
    agree: tuple[int, str] | None
    """The rules message and its "I agree" custom_id (None: not posted)."""
    menu: MenuMessage | None


class CommunityDriver:
    """Sets up the showcase guild, then has its members join, agree and pick roles."""

    def __init__(
        self, control: SimulatorControl, pace: CommunityPace, say: Callable[[str], None]
    ) -> None:
        """Drive through ``control`` at ``pace``; ``say`` writes the run's few lines."""
        self._control = control
        self._pace = pace
        self._say = say
        self._task: asyncio.Task[None] | None = None
        self._joiners: collections.deque[_Joiner] = collections.deque()
        self._clicks: collections.deque[_Click] = collections.deque()
        self._joined = self._agreed = self._with_member = self._picks = 0
        self._pick_turns = 0
        self._is_set_up = False

    @property
    def figures(self) -> CommunityFigures | None:
        """What members did so far (None until the showcase is set up)."""
        if not self._is_set_up:
            return None
        return CommunityFigures(
            joined=self._joined,
            agreed=self._agreed,
            with_member_role=self._with_member,
            picks=self._picks,
        )

    @property
    def is_started(self) -> bool:
        """Whether :meth:`start` was called."""
        return self._task is not None

    def start(self) -> None:
        """Start the showcase in the background (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop it (nothing is undone: the simulator goes with the run)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        try:
            await self._drive()
        except Exception as exc:  # noqa: BLE001 - a local run never ends for its showcase
            self._say(f"Showcase: stopped by {exc!r}; the fleet goes on")

    async def _drive(self) -> None:
        try:
            showcase = await self._set_up()
        except _NoAnswerError:
            return  # said by _ask
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            self._say(f"Showcase: not set up, the simulator answered {exc!r}")
            return
        self._is_set_up = True
        self._say(_started_text(showcase, self._pace))
        loop = asyncio.get_running_loop()
        started_s = loop.time()
        joins = picks = 0
        while True:
            now_s = loop.time()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, KeyError, ValueError):
                if showcase.agree is not None:
                    due = community.due_now(
                        rate_per_s=self._pace.joins_per_s, elapsed_s=now_s - started_s, done=joins
                    )
                    joins += due
                    await self._join(showcase.guild, due, now_s)
                    await self._onboard(showcase, now_s)
                if showcase.menu is not None:
                    due = community.due_now(
                        rate_per_s=self._pace.picks_per_s, elapsed_s=now_s - started_s, done=picks
                    )
                    picks += due
                    await self._pick(showcase, showcase.menu, due, now_s)
                await self._check(showcase, now_s)
            await asyncio.sleep(_TICK_S)

    # -- setting up ------------------------------------------------------------------------

    async def _set_up(self) -> _Showcase:
        control = self._control
        guild_id = (await control.guild_ids())[0]
        guild = community.showcase_guild(await control.guild_state(guild_id))
        await control.screen_members(guild_id)
        made = [await control.create_role(guild_id, name) for name in community.SHOWCASE_ROLES]
        roles = ShowcaseRoles(made[0], made[1], tuple(made[2:]))
        setup = await self._ask("/onboarding setup", community.setup_command(guild, roles))
        self._expect("/onboarding setup", setup, "Member role:")
        await self._write_rules(guild)
        posted = await self._ask("/onboarding post", community.onboarding_command(guild, "post"))
        agree = None
        if self._expect("/onboarding post", posted, "Posted the rules"):
            agree = community.rules_agree_button(await control.bot_messages(guild.rules_channel_id))
        menu = await self._build_menu(guild, roles)
        return _Showcase(guild, roles, agree, menu)

    async def _write_rules(self, guild: ShowcaseGuild) -> None:
        shown = await self._ask("/onboarding rules", community.onboarding_command(guild, "rules"))
        if shown.message is None or not shown.custom_ids():
            self._refused("/onboarding rules", shown)
            return
        edit = community.click_body(
            guild,
            channel_id=guild.rules_channel_id,
            user_id=guild.admin_id,
            message_id=int(shown.message["id"]),
            custom_id=shown.custom_ids()[0],
        )
        opened = await self._ask('"Edit rules"', edit)
        if opened.modal_custom_id is None:
            self._refused('"Edit rules"', opened)
            return
        modal = community.modal_body(guild, opened.modal_custom_id, community.RULES_TEXT)
        self._expect("the rules form", await self._ask("the rules form", modal), "Saved the rules")

    async def _build_menu(self, guild: ShowcaseGuild, roles: ShowcaseRoles) -> MenuMessage | None:
        allowed = await self._ask("/settings set", community.allow_roles_command(guild, roles))
        if not self._expect("/settings set", allowed, "Saved"):
            return None
        created = await self._ask("/rolemenu create", community.create_menu_command(guild))
        menu_id = community.menu_id_in(created.text)
        if menu_id is None:
            self._refused("/rolemenu create", created)
            return None
        for role_id in roles.self_role_ids:
            added = await self._ask(
                "/rolemenu add", community.add_role_command(guild, menu_id, role_id)
            )
            self._expect("/rolemenu add", added, "Added")
        posted = await self._ask("/rolemenu post", community.post_menu_command(guild, menu_id))
        if not self._expect("/rolemenu post", posted, "Posted"):
            return None
        return community.menu_message(await self._control.bot_messages(guild.menu_channel_id))

    async def _ask(self, what: str, body: dict[str, Any]) -> Reply:
        """Send one admin step; return the bot's reply.

        Raises:
            _NoAnswerError: after :data:`_STEP_TRIES` tries without one (said once).
        """
        for attempt in range(_STEP_TRIES):
            if attempt:
                await asyncio.sleep(_RETRY_AFTER_S)
            interaction_id, reached = await self._control.inject(body)
            if not reached:
                continue  # no session covers the guild right now (a restart): again
            reply = await self._answer(interaction_id)
            if reply is not None:
                return reply
        self._say(
            f"Showcase: the bot did not answer {what} ({_STEP_TRIES} tries); onboarding and "
            "role menus are not shown this run"
        )
        raise _NoAnswerError

    async def _answer(self, interaction_id: int) -> Reply | None:
        loop = asyncio.get_running_loop()
        deadline_s = loop.time() + _ANSWER_WAIT_S
        while loop.time() < deadline_s:
            state = await self._control.interaction(interaction_id)
            if state is None:
                return None
            reply = community.reply_of(state)
            if reply is not None:
                return reply
            if state.get("outcome") in ("unanswered", "undelivered"):
                return None
            await asyncio.sleep(_ANSWER_POLL_S)
        return None

    def _expect(self, what: str, reply: Reply, fragment: str) -> bool:
        if fragment in reply.text:
            return True
        self._refused(what, reply)
        return False

    def _refused(self, what: str, reply: Reply) -> None:
        said = repr(reply.text.splitlines()[0][:160]) if reply.text else "no text"
        self._say(f"Showcase: {what} did not go through (the bot answered {said}); going on")

    # -- the steady phase ------------------------------------------------------------------

    async def _join(self, guild: ShowcaseGuild, count: int, now_s: float) -> None:
        for _ in range(count):
            if len(self._joiners) >= _MAX_IN_FLIGHT:
                return
            user_id = await self._control.add_member(guild.guild_id, is_pending=True)
            self._joined += 1
            self._joiners.append(_Joiner(user_id, now_s))

    async def _onboard(self, showcase: _Showcase, now_s: float) -> None:
        """Screen the joiners due, then have those screened a moment ago press "I agree"."""
        assert showcase.agree is not None  # noqa: S101 - only called with a rules message
        message_id, custom_id = showcase.agree
        guild = showcase.guild
        waiting: collections.deque[_Joiner] = collections.deque()
        while self._joiners:
            joiner = self._joiners.popleft()
            if joiner.screened_at_s is None:
                if now_s - joiner.joined_at_s >= _SCREENING_AFTER_S:
                    await self._control.complete_screening(guild.guild_id, joiner.user_id)
                    joiner.screened_at_s = now_s
                waiting.append(joiner)
            elif now_s - joiner.screened_at_s < _AGREE_AFTER_S:
                waiting.append(joiner)
            else:
                body = community.click_body(
                    guild,
                    channel_id=guild.rules_channel_id,
                    user_id=joiner.user_id,
                    message_id=message_id,
                    custom_id=custom_id,
                )
                await self._click(body, "agree", joiner.user_id, now_s)
        self._joiners = waiting

    async def _pick(self, showcase: _Showcase, menu: MenuMessage, count: int, now_s: float) -> None:
        guild = showcase.guild
        for _ in range(count):
            if not guild.pickers:
                return
            turn = self._pick_turns
            self._pick_turns += 1
            user_id = guild.pickers[turn % len(guild.pickers)]
            body = community.click_body(
                guild,
                channel_id=guild.menu_channel_id,
                user_id=user_id,
                message_id=menu.message_id,
                custom_id=menu.custom_id,
                values=community.picked_values(menu.values, turn),
            )
            await self._click(body, "pick", user_id, now_s)

    async def _click(self, body: dict[str, Any], kind: str, user_id: int, now_s: float) -> None:
        if len(self._clicks) >= _MAX_IN_FLIGHT:
            return
        interaction_id, reached = await self._control.inject(body)
        if reached:
            self._clicks.append(_Click(interaction_id, now_s, kind, user_id))

    async def _check(self, showcase: _Showcase, now_s: float) -> None:
        """Read back the answers of the clicks sent a moment ago, oldest first."""
        while self._clicks and now_s - self._clicks[0].sent_at_s >= _CHECK_AFTER_S:
            click = self._clicks[0]
            state = await self._control.interaction(click.interaction_id)
            reply = None if state is None else community.reply_of(state)
            is_lost = state is None or state.get("outcome") in _LOST
            if reply is None and not is_lost and now_s - click.sent_at_s < _GIVE_UP_AFTER_S:
                return  # not answered yet (or only deferred): look again next tick
            self._clicks.popleft()
            if reply is None:
                continue  # lost to a fault: the fleet's own figures say so
            if click.kind == "pick":
                self._picks += 1
                continue
            self._agreed += 1
            roles = await self._control.member_roles(showcase.guild.guild_id, click.user_id)
            if showcase.roles.member_id in roles:
                self._with_member += 1


class _NoAnswerError(Exception):
    """The bot answered none of a setup step's tries."""


def _started_text(showcase: _Showcase, pace: CommunityPace) -> str:
    guild = showcase.guild
    parts = []
    if showcase.agree is not None:
        parts.append(f"{pace.joins_per_s:g} members/s join and agree to the rules")
    if showcase.menu is not None:
        parts.append(f"{pace.picks_per_s:g} role picks/s in the {community.MENU_TITLE} menu")
    doing = "; ".join(parts) or "nothing to drive (see above)"
    text = f"Showcase: onboarding and role menus set up in guild {guild.guild_id}: {doing}"
    if not community.is_within_member_edit_limit(
        joins_per_s=pace.joins_per_s, picks_per_s=pace.picks_per_s
    ):
        edits = community.member_edits_per_s(
            joins_per_s=pace.joins_per_s, picks_per_s=pace.picks_per_s
        )
        text += (
            f" ({edits:g} member edits/s is over Discord's 10 per 10 s in a guild: the bot's "
            "answers will wait for the rate limit)"
        )
    return text
