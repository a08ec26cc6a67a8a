"""Buttons, selects and modals: routed by custom_id through the same door as commands.

A feature declares :class:`ComponentRoute` s on its module (``Module.components``): a
custom_id prefix and version (:mod:`shoal.interactions.custom_ids`) and a handler. The
:class:`ComponentRouter` is subscribed once per worker, for component and modal
interactions only (arc handles commands and autocomplete), and runs each one exactly as
the command middleware runs a command:

1. **admit** it through the listener gate (claimed once across workers and generations);
   a worker not admitted stays silent;
2. find the route; a custom_id no route knows (a button of a removed feature, a version no
   longer served) gets an ephemeral "this button no longer works" and is counted in
   ``shoal_interactions_unknown_total{kind="component"}``;
3. a module switched off for the guild answers with a polite ephemeral note;
4. **rate limit** per user, guild or bot-wide, with the route's rules or the defaults;
5. **auto-defer** (a silent "update message" acknowledgement) if the handler has not
   answered within ``defer_after_s`` of the interaction's creation, unless the route opens
   modals (a modal must be the first response);
6. run the handler; when it raises, log at ERROR with a reference and answer "Something
   went wrong (reference ABC123)" privately; when it returns without answering,
   acknowledge silently (and warn);
7. record ``shoal_commands_total`` and ``shoal_command_duration_seconds`` under the route's
   name (``rolemenu select``), like a command.

Handlers answer through :class:`ComponentContext`, which tracks what was sent so the
deferral and the router's own answers never double-acknowledge an interaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import time
from typing import TYPE_CHECKING, Any, Final

import hikari

from shoal.interactions.custom_ids import check_prefix, decode
from shoal.interactions.deadlines import defer_delay_s
from shoal.interactions.limits import DEFAULT_RATE_LIMITS
from shoal.interactions.outages import OUTAGE_REPLY, OutageNotes, is_outage
from shoal.interactions.replying import new_reference
from shoal.observability.metrics import CommandOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping, Sequence

    from shoal.interactions.custom_ids import CustomId
    from shoal.interactions.gating import Admission
    from shoal.interactions.identity import WorkerIdentity
    from shoal.interactions.limits import RateLimitRule
    from shoal.interactions.rate_limiting import RateLimiter
    from shoal.interactions.switching import FeatureSwitch
    from shoal.observability.metrics import Metrics

__all__ = [
    "STALE_COMPONENT_REPLY",
    "ComponentContext",
    "ComponentKind",
    "ComponentRoute",
    "ComponentRouter",
    "RouteOwner",
    "module_off_reply",
]

logger = logging.getLogger(__name__)

STALE_COMPONENT_REPLY: Final = (
    "This button no longer works: it belongs to a feature that was removed or changed "
    "in an update. Ask a server admin to post it again."
)
_UNKNOWN_INTERACTION: Final = 10062
_EPHEMERAL: Final = hikari.MessageFlag.EPHEMERAL

Interaction = hikari.ComponentInteraction | hikari.ModalInteraction


def module_off_reply(title: str) -> str:
    """Return the note a member gets from a module this server switched off."""
    return (
        f"{title} is turned off in this server. A server admin can turn it on with "
        f"`/settings module`."
    )


class ComponentKind(enum.Enum):
    """Which interactions a route handles."""

    COMPONENT = "component"
    """Buttons and select menus (interaction type 3)."""
    MODAL = "modal"
    """Modal submissions (interaction type 5)."""


Handler = "Callable[[ComponentContext], Coroutine[Any, Any, None]]"


@dataclasses.dataclass(frozen=True, slots=True)
class ComponentRoute:
    """A feature's handler for the custom_ids with one prefix and version."""

    name: str
    """How metrics, logs and rate limits call it (``rolemenu select``)."""
    prefix: str
    """The custom_id prefix (see :mod:`shoal.interactions.custom_ids`)."""
    version: int
    """The argument layout version it reads."""
    handler: Callable[[ComponentContext], Coroutine[Any, Any, None]]
    """Called with each admitted interaction."""
    kind: ComponentKind = ComponentKind.COMPONENT
    """Clicks and selections, or modal submissions."""
    opens_modal: bool = False
    """The handler may answer with a modal: it is then never auto-deferred (a modal must
    be the first response) and must answer within Discord's 3 s."""
    rate_limits: Sequence[RateLimitRule] | None = None
    """Its rules; None for the router's defaults, empty for none."""

    def __post_init__(self) -> None:
        """Reject a bad prefix or an empty name."""
        check_prefix(self.prefix)
        if not self.name:
            msg = "a component route needs a name"
            raise ValueError(msg)


class ComponentContext:
    """One admitted component or modal interaction, and the answers sent to it.

    Every answer goes through a lock shared with the auto-deferral, so the interaction is
    acknowledged once: after a deferral, :meth:`respond` sends a follow-up and
    :meth:`update_message` edits the message the component sits on.
    """

    __slots__ = ("_lock", "custom_id", "interaction", "is_answered", "is_deferred", "module")

    def __init__(self, interaction: Interaction, custom_id: CustomId, *, module: str) -> None:
        """Wrap ``interaction``, whose custom_id decoded to ``custom_id``."""
        self.interaction: Final = interaction
        self.custom_id: Final = custom_id
        self.module: Final = module
        """The module whose route handles it."""
        self.is_answered = False
        """An initial response (other than the router's deferral) was sent."""
        self.is_deferred = False
        """The router deferred it (a silent acknowledgement)."""
        self._lock = asyncio.Lock()

    @property
    def guild_id(self) -> int | None:
        """The guild, or None in a DM."""
        guild_id = self.interaction.guild_id
        return None if guild_id is None else int(guild_id)

    @property
    def user(self) -> hikari.User:
        """Who clicked or submitted."""
        return self.interaction.user

    @property
    def member(self) -> hikari.InteractionMember | None:
        """The member who clicked (with roles and permissions), None in a DM."""
        return self.interaction.member

    @property
    def values(self) -> Sequence[str]:
        """A select menu's chosen values (empty for a button or a modal)."""
        if isinstance(self.interaction, hikari.ComponentInteraction):
            return self.interaction.values
        return ()

    def modal_values(self) -> dict[str, str]:
        """A modal's text inputs by custom_id (empty for a component)."""
        if not isinstance(self.interaction, hikari.ModalInteraction):
            return {}
        return {
            component.custom_id: component.value
            for row in self.interaction.components
            for component in row.components
            if isinstance(component, hikari.TextInputComponent)
        }

    @property
    def has_acknowledged(self) -> bool:
        """Whether Discord has an initial response (an answer or the deferral)."""
        return self.is_answered or self.is_deferred

    async def respond(
        self,
        content: str | hikari.UndefinedType = hikari.UNDEFINED,
        *,
        embeds: Sequence[hikari.Embed] | hikari.UndefinedType = hikari.UNDEFINED,
        components: Sequence[hikari.api.ComponentBuilder] | hikari.UndefinedType = hikari.UNDEFINED,
        attachments: Sequence[hikari.Resourceish] | hikari.UndefinedType = hikari.UNDEFINED,
        is_ephemeral: bool = True,
    ) -> None:
        """Send a new message in answer (private by default): a follow-up once acknowledged."""
        flags = _EPHEMERAL if is_ephemeral else hikari.MessageFlag.NONE
        async with self._lock:
            if self.has_acknowledged:
                await self.interaction.execute(
                    content,
                    embeds=embeds,
                    components=components,
                    attachments=attachments,
                    flags=flags,
                )
                return
            await self.interaction.create_initial_response(
                hikari.ResponseType.MESSAGE_CREATE,
                content,
                embeds=embeds,
                components=components,
                attachments=attachments,
                flags=flags,
            )
            self.is_answered = True

    async def update_message(
        self,
        content: str | hikari.UndefinedType = hikari.UNDEFINED,
        *,
        embeds: Sequence[hikari.Embed] | hikari.UndefinedType = hikari.UNDEFINED,
        components: Sequence[hikari.api.ComponentBuilder] | hikari.UndefinedType = hikari.UNDEFINED,
        attachments: Sequence[hikari.Resourceish] | hikari.UndefinedType | None = hikari.UNDEFINED,
    ) -> None:
        """Edit the message the component sits on (a page turn, a refreshed menu)."""
        async with self._lock:
            if self.has_acknowledged:
                await self.interaction.edit_initial_response(
                    content, embeds=embeds, components=components, attachments=attachments
                )
                return
            if not isinstance(self.interaction, hikari.ComponentInteraction):
                msg = "only a component interaction can update its message"
                raise TypeError(msg)
            await self.interaction.create_initial_response(
                hikari.ResponseType.MESSAGE_UPDATE,
                content,
                embeds=embeds,
                components=components,
                attachments=attachments,
            )
            self.is_answered = True

    async def open_modal(
        self, title: str, custom_id: str, rows: Sequence[hikari.api.ModalActionRowBuilder]
    ) -> None:
        """Answer with a modal (only as the first response: the route must open modals)."""
        async with self._lock:
            if self.has_acknowledged:
                msg = "a modal can only be the first response to an interaction"
                raise RuntimeError(msg)
            if not isinstance(self.interaction, hikari.ComponentInteraction):
                msg = "a modal cannot answer a modal submission"
                raise TypeError(msg)
            await self.interaction.create_modal_response(title, custom_id, components=rows)
            self.is_answered = True

    async def acknowledge(self) -> None:
        """Acknowledge without a visible answer (a deferred message update), if not yet done."""
        async with self._lock:
            await self._acknowledge_locked(by_router=False)

    async def defer_if_unanswered(self) -> bool:
        """The router's deferral: acknowledge silently unless answered; return whether it did."""
        async with self._lock:
            if self.has_acknowledged:
                return False
            await self._acknowledge_locked(by_router=True)
            return True

    async def _acknowledge_locked(self, *, by_router: bool) -> None:
        if self.has_acknowledged:
            return
        if isinstance(self.interaction, hikari.ComponentInteraction):
            await self.interaction.create_initial_response(
                hikari.ResponseType.DEFERRED_MESSAGE_UPDATE
            )
        else:  # a modal submitted from a slash command has no message to update
            await self.interaction.create_initial_response(
                hikari.ResponseType.DEFERRED_MESSAGE_CREATE, flags=_EPHEMERAL
            )
        if by_router:
            self.is_deferred = True
        else:
            self.is_answered = True


@dataclasses.dataclass(frozen=True, slots=True)
class RouteOwner:
    """What the router needs to know of the module declaring a route."""

    module: str
    """The module's name (its feature flag)."""
    title: str
    """How replies name it (``Levels``)."""
    is_switchable: bool = True
    """Whether a guild can switch it off."""
    is_on_by_default: bool = True
    """Its flag for a guild that never set one."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Bound:
    """A route with the module that declared it."""

    route: ComponentRoute
    owner: RouteOwner


class ComponentRouter:
    """The one door of every component and modal interaction (see the module docstring)."""

    def __init__(
        self,
        *,
        admission: Admission,
        rate_limiter: RateLimiter,
        identity: WorkerIdentity,
        metrics: Metrics,
        switch: FeatureSwitch | None = None,
        defer_after_s: float = 2.0,
        default_rate_limits: Sequence[RateLimitRule] = DEFAULT_RATE_LIMITS,
    ) -> None:
        """Build an empty router; :meth:`add` routes, then subscribe :meth:`on_interaction`."""
        self._admission = admission
        self._rate_limiter = rate_limiter
        self._identity = identity
        self._metrics = metrics
        self._switch = switch
        self._defer_after_s = defer_after_s
        self._default_rate_limits = tuple(default_rate_limits)
        self._outages = OutageNotes()
        self._routes: dict[tuple[ComponentKind, str, int], _Bound] = {}

    def add(self, route: ComponentRoute, owner: RouteOwner) -> None:
        """Route ``route``'s custom_ids to its handler.

        Raises:
            ValueError: another route already has this kind, prefix and version.
        """
        key = (route.kind, route.prefix, route.version)
        if (taken := self._routes.get(key)) is not None:
            msg = (
                f"custom_id {route.prefix}:{route.version} ({route.kind.value}) is routed by "
                f"both {taken.owner.module} and {owner.module}"
            )
            raise ValueError(msg)
        self._routes[key] = _Bound(route=route, owner=owner)

    @property
    def routes(self) -> Mapping[tuple[ComponentKind, str, int], ComponentRoute]:
        """Every route by (kind, prefix, version)."""
        return {key: bound.route for key, bound in self._routes.items()}

    async def on_interaction(self, event: hikari.InteractionCreateEvent) -> None:
        """Handle ``event`` when it is a component or modal interaction (else ignore it)."""
        interaction = event.interaction
        if isinstance(interaction, hikari.ComponentInteraction):
            kind = ComponentKind.COMPONENT
        elif isinstance(interaction, hikari.ModalInteraction):
            kind = ComponentKind.MODAL
        else:
            return
        await self.handle(interaction, kind)

    async def handle(self, interaction: Interaction, kind: ComponentKind) -> None:
        """Run one component or modal interaction through the middleware."""
        started_s = time.monotonic()
        custom_id = decode(interaction.custom_id)
        bound = None
        if custom_id is not None:
            bound = self._routes.get((kind, custom_id.prefix, custom_id.version))
        if not await self._admission.admit(interaction.id):
            if bound is not None:
                self._metrics.record_command(
                    bound.route.name, CommandOutcome.CLAIMED_ELSEWHERE, None
                )
            return
        if custom_id is None or bound is None:
            await self._answer_stale(interaction, kind)
            return
        ctx = ComponentContext(interaction, custom_id, module=bound.owner.module)
        name = bound.route.name
        outcome = await self._run(ctx, bound)
        duration_s = time.monotonic() - started_s
        self._metrics.record_command(name, outcome, duration_s)

    async def _run(self, ctx: ComponentContext, bound: _Bound) -> CommandOutcome:
        route = bound.route
        if not await self._is_on(ctx, bound):
            await self._safely(ctx, route.name, ctx.respond(module_off_reply(bound.owner.title)))
            return CommandOutcome.DISABLED
        rules = self._default_rate_limits if route.rate_limits is None else route.rate_limits
        verdict = await self._rate_limiter.check(
            command=route.name, user_id=int(ctx.user.id), guild_id=ctx.guild_id, rules=rules
        )
        if verdict.is_limited:
            wait_s = max(1, round(verdict.retry_after_s + 0.5))
            unit = "second" if wait_s == 1 else "seconds"
            text = f"You're clicking a little too quickly. Please try again in {wait_s} {unit}."
            await self._safely(ctx, route.name, ctx.respond(text))
            return CommandOutcome.RATE_LIMITED
        deferral = None
        if not route.opens_modal:
            after_s = defer_delay_s(
                int(ctx.interaction.id), time.time(), defer_after_s=self._defer_after_s
            )
            deferral = asyncio.create_task(self._defer_later(ctx, after_s, route.name))
        try:
            await route.handler(ctx)
        except Exception as error:  # noqa: BLE001 - every failure gets the error reply
            await self._stop(deferral)
            return await self._failed(ctx, route.name, error)
        await self._stop(deferral)
        if not ctx.is_answered:
            if not ctx.is_deferred:
                logger.warning(
                    "%s returned without answering; acknowledging for it",
                    route.name,
                    extra=self._fields(ctx, route.name),
                )
            await self._safely(ctx, route.name, ctx.defer_if_unanswered())
            return CommandOutcome.UNANSWERED
        return CommandOutcome.OK

    async def _is_on(self, ctx: ComponentContext, bound: _Bound) -> bool:
        owner = bound.owner
        if self._switch is None or not owner.is_switchable or ctx.guild_id is None:
            return True
        return await self._switch.is_enabled(
            ctx.guild_id, owner.module, is_on_by_default=owner.is_on_by_default
        )

    async def _defer_later(self, ctx: ComponentContext, after_s: float, name: str) -> None:
        await asyncio.sleep(after_s)
        try:
            await ctx.defer_if_unanswered()
        except hikari.HTTPError:
            logger.warning("could not defer %s", name, exc_info=True, extra=self._fields(ctx, name))

    @staticmethod
    async def _stop(deferral: asyncio.Task[None] | None) -> None:
        if deferral is None:
            return
        deferral.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await deferral

    async def _failed(self, ctx: ComponentContext, name: str, error: Exception) -> CommandOutcome:
        fields = self._fields(ctx, name)
        if _is_expired(error) and not ctx.has_acknowledged:
            self._note_expired(ctx, name)
            return CommandOutcome.EXPIRED
        if is_outage(error):
            if self._outages.is_due(name):
                logger.warning(
                    "%s could not run: %s (%s); members are told to try again",
                    name,
                    type(error).__name__,
                    error,
                    extra=fields,
                )
            await self._safely(ctx, name, ctx.respond(OUTAGE_REPLY))
            return CommandOutcome.ERROR
        reference = new_reference()
        logger.error(
            "%s failed (reference %s)",
            name,
            reference,
            exc_info=error,
            extra={**fields, "reference": reference},
        )
        text = f"Something went wrong (reference {reference})."
        await self._safely(ctx, name, ctx.respond(text))
        return CommandOutcome.ERROR

    async def _safely(
        self, ctx: ComponentContext, name: str, answer: Coroutine[Any, Any, object]
    ) -> None:
        """Send one of the router's own answers; a failure is counted and logged, not raised."""
        try:
            await answer
        except Exception as error:
            if _is_expired(error):
                self._note_expired(ctx, name)
                return
            if not ctx.has_acknowledged:
                self._metrics.interactions_unanswered.labels(name).inc()
            logger.warning(
                "could not answer %s: %s",
                name,
                type(error).__name__,
                exc_info=True,
                extra=self._fields(ctx, name),
            )

    def _note_expired(self, ctx: ComponentContext, name: str) -> None:
        self._metrics.interactions_unanswered.labels(name).inc()
        logger.warning(
            "%s was answered after Discord's 3 s window had passed; the user saw "
            "'interaction failed'",
            name,
            extra=self._fields(ctx, name),
        )

    async def _answer_stale(self, interaction: Interaction, kind: ComponentKind) -> None:
        self._metrics.interactions_unknown.labels(kind.value).inc()
        logger.info(
            "received a %s with an unknown custom_id; told the user it no longer works",
            kind.value,
            extra={
                "interaction_id": int(interaction.id),
                "custom_id": interaction.custom_id[:100],
                "guild_id": None if interaction.guild_id is None else int(interaction.guild_id),
            },
        )
        try:
            await interaction.create_initial_response(
                hikari.ResponseType.MESSAGE_CREATE, STALE_COMPONENT_REPLY, flags=_EPHEMERAL
            )
        except hikari.HTTPError as error:
            logger.warning(
                "could not tell the user a %s no longer works: %s",
                kind.value,
                type(error).__name__,
                exc_info=not _is_expired(error),
                extra={"interaction_id": int(interaction.id)},
            )

    def _fields(self, ctx: ComponentContext, name: str) -> dict[str, object]:
        return {
            "command": name,
            "interaction_id": int(ctx.interaction.id),
            "guild_id": ctx.guild_id,
            "shard_id": self._identity.shard_of(ctx.interaction.guild_id),
            "pod": self._identity.pod_name,
            "generation": self._identity.generation,
        }


def _is_expired(error: BaseException) -> bool:
    return isinstance(error, hikari.NotFoundError) and error.code == _UNKNOWN_INTERACTION
