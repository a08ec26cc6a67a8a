"""The middleware every command runs through, installed as arc client hooks.

Before the handler (one pre-hook, in this order):

1. **Admit** the interaction (``ListenerGate.admit``: its claim in Redis, or the
   generation rule when Redis cannot be asked); a worker that is not admitted (another
   generation got it first) aborts without a word, so each interaction is answered once.
2. **Switch**: a command of a module switched off in the guild gets a polite ephemeral
   note (:func:`shoal.interactions.components.module_off_reply`); the handler never runs.
3. **Rate limit** per user, guild or bot-wide; a refused use gets a polite ephemeral
   reply and the handler never runs.
4. **Auto-defer**: start the timer that defers the interaction if the handler has not
   answered within ``defer_after_s`` of its creation (its id's timestamp: one that
   arrived late is deferred sooner).

When the handler raises (the client's error handler): log at ERROR with a short
reference and send the user an ephemeral "Something went wrong (reference ABC123)".
A reply Discord refused because the interaction's 3 s window had passed (10062) is not
a bug in the handler: it is counted as unanswered and logged as a WARNING without a
traceback, and no error reply is tried (it would be refused the same way).
After it (the post-hook): stop the timer, answer for a handler that returned without
answering, and record ``shoal_commands_total`` and ``shoal_command_duration_seconds``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Final

import arc
import hikari

from shoal.interactions.components import module_off_reply
from shoal.interactions.deadlines import defer_delay_s
from shoal.interactions.deferring import AutoDefer, is_only_deferred
from shoal.interactions.limits import DEFAULT_RATE_LIMITS
from shoal.interactions.modules import command_name
from shoal.interactions.outages import OUTAGE_REPLY, OutageNotes, is_outage
from shoal.interactions.replying import (
    new_reference,
    reply,
    reply_error,
    reply_rate_limited,
    reply_unanswered,
)
from shoal.observability.metrics import CommandOutcome

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from shoal.interactions.components import RouteOwner
    from shoal.interactions.gating import Admission
    from shoal.interactions.identity import WorkerIdentity
    from shoal.interactions.limits import RateLimitRule
    from shoal.interactions.rate_limiting import RateLimiter
    from shoal.interactions.switching import FeatureSwitch
    from shoal.observability.metrics import Metrics

__all__ = ["DEFER_AFTER_S", "CommandMiddleware", "CommandSettings", "is_expired_reply"]

logger = logging.getLogger(__name__)

DEFER_AFTER_S: Final = 2.0
"""Discord allows 3 s for the first response; deferring at 2 s leaves a second for the
round trip even from a busy pod."""
_UNKNOWN_INTERACTION: Final = 10062  # Discord's code for a reply past the 3 s window


def is_expired_reply(error: BaseException) -> bool:
    """Return whether Discord refused a reply because the interaction's window had passed."""
    return isinstance(error, hikari.NotFoundError) and error.code == _UNKNOWN_INTERACTION


@dataclasses.dataclass(frozen=True, slots=True)
class CommandSettings:
    """How the middleware treats every command."""

    defer_after_s: float = DEFER_AFTER_S
    """Seconds a handler may run before its interaction is deferred."""
    default_rate_limits: Sequence[RateLimitRule] = DEFAULT_RATE_LIMITS
    """Rules for commands whose module sets none."""

    def __post_init__(self) -> None:
        """Reject a deferral delay that is not positive."""
        if not self.defer_after_s > 0:
            msg = f"defer_after_s must be positive, got {self.defer_after_s}"
            raise ValueError(msg)


@dataclasses.dataclass(slots=True)
class _Invocation:
    """What the middleware knows about one command call, from admission to the end."""

    command: str
    started_s: float
    outcome: CommandOutcome = CommandOutcome.OK
    deferral: AutoDefer | None = None


class CommandMiddleware:
    """Claims, rate limits, deferral, error replies and metrics for one arc client."""

    def __init__(
        self,
        *,
        admission: Admission,
        rate_limiter: RateLimiter,
        identity: WorkerIdentity,
        metrics: Metrics,
        settings: CommandSettings | None = None,
        rate_limits: Mapping[str, Sequence[RateLimitRule]] | None = None,
        switch: FeatureSwitch | None = None,
        owners: Mapping[str, RouteOwner] | None = None,
    ) -> None:
        """Build the middleware; ``rate_limits`` overrides the default rules by command.

        ``switch`` and ``owners`` (arc plugin name -> its module) turn commands of modules
        switched off in a guild into a polite note.
        """
        self._switch = switch
        self._owners = dict(owners or {})
        self._admission = admission
        self._rate_limiter = rate_limiter
        self._identity = identity
        self._metrics = metrics
        self._settings = settings or CommandSettings()
        self._rate_limits = dict(rate_limits or {})
        # arc's Context has slots and no weakref: entries are removed by the post-hook,
        # which arc runs after every call (aborted ones included).
        self._invocations: dict[arc.GatewayContext, _Invocation] = {}
        self._outages = OutageNotes()

    def attach(self, client: arc.GatewayClient) -> None:
        """Install the hooks and the error handler on ``client`` (before any plugin's)."""
        client.add_hook(self._admit)
        client.add_post_hook(self._finish)
        client.set_error_handler(self._on_error)

    def _log_fields(self, ctx: arc.GatewayContext, command: str) -> dict[str, object]:
        return {
            "command": command,
            "interaction_id": int(ctx.interaction.id),
            "guild_id": None if ctx.guild_id is None else int(ctx.guild_id),
            "shard_id": self._identity.shard_of(ctx.guild_id),
            "pod": self._identity.pod_name,
            "generation": self._identity.generation,
        }

    async def _admit(self, ctx: arc.GatewayContext) -> arc.HookResult:
        name = command_name(ctx.command)
        invocation = _Invocation(command=name, started_s=time.monotonic())
        self._invocations[ctx] = invocation
        if not await self._admission.admit(ctx.interaction.id):
            invocation.outcome = CommandOutcome.CLAIMED_ELSEWHERE
            if logger.isEnabledFor(logging.DEBUG):  # every lost claim: keep it cheap
                logger.debug("/%s claimed elsewhere", name, extra=self._log_fields(ctx, name))
            return arc.HookResult(abort=True)
        if (off := await self._switched_off(ctx)) is not None:
            invocation.outcome = CommandOutcome.DISABLED
            await self._reply_early(ctx, name, module_off_reply(off.title))
            return arc.HookResult(abort=True)
        rules = self._rate_limits.get(name, self._settings.default_rate_limits)
        verdict = await self._rate_limiter.check(
            command=name, user_id=ctx.user.id, guild_id=ctx.guild_id, rules=rules
        )
        if verdict.is_limited:
            invocation.outcome = CommandOutcome.RATE_LIMITED
            try:
                await reply_rate_limited(ctx, verdict.retry_after_s)
            except hikari.NotFoundError as error:
                if not is_expired_reply(error):
                    raise
                self._note_expired(ctx, name)
            return arc.HookResult(abort=True)
        after_s = defer_delay_s(
            int(ctx.interaction.id), time.time(), defer_after_s=self._settings.defer_after_s
        )
        invocation.deferral = AutoDefer(ctx, after_s=after_s)
        return arc.HookResult()

    async def _switched_off(self, ctx: arc.GatewayContext) -> RouteOwner | None:
        """Return the command's module when the guild switched it off, else None."""
        plugin = getattr(ctx.command, "plugin", None)
        if self._switch is None or plugin is None or ctx.guild_id is None:
            return None
        owner = self._owners.get(plugin.name)
        if owner is None or not owner.is_switchable:
            return None
        is_on = await self._switch.is_enabled(
            int(ctx.guild_id), owner.module, is_on_by_default=owner.is_on_by_default
        )
        return None if is_on else owner

    async def _reply_early(self, ctx: arc.GatewayContext, name: str, text: str) -> None:
        try:
            await ctx.respond(text, flags=hikari.MessageFlag.EPHEMERAL)
        except hikari.NotFoundError as error:
            if not is_expired_reply(error):
                raise
            self._note_expired(ctx, name)

    async def _on_error(self, ctx: arc.GatewayContext, exc: Exception) -> None:
        invocation = self._invocations.get(ctx)
        name = command_name(ctx.command) if invocation is None else invocation.command
        if invocation is not None:
            invocation.outcome = CommandOutcome.ERROR
            if invocation.deferral is not None:
                await invocation.deferral.stop()
        if is_expired_reply(exc) and not ctx.issued_response:
            if invocation is not None:
                invocation.outcome = CommandOutcome.EXPIRED
            self._note_expired(ctx, name)
            return
        if is_outage(exc):
            await self._on_outage(ctx, name, exc)
            return
        reference = new_reference()
        fields = self._log_fields(ctx, name)
        logger.error(
            "/%s failed (reference %s)",
            name,
            reference,
            exc_info=exc,
            extra={**fields, "reference": reference},
        )
        had_answered = ctx.issued_response and not is_only_deferred(ctx)
        try:
            await reply_error(ctx, reference)
        except Exception as error:  # the reply is best effort: the error is already logged
            if not had_answered:
                self._metrics.interactions_unanswered.labels(name).inc()
            logger.warning(
                "could not send the error reply for /%s (reference %s): %s",
                name,
                reference,
                type(error).__name__,
                exc_info=not is_expired_reply(error),
                extra={**fields, "reference": reference},
            )

    async def _on_outage(self, ctx: arc.GatewayContext, name: str, exc: Exception) -> None:
        """Redis or PostgreSQL cannot be reached: say so, and log it once a minute."""
        if self._outages.is_due(name):
            logger.warning(
                "/%s could not run: %s (%s); members are told to try again",
                name,
                type(exc).__name__,
                exc,
                extra=self._log_fields(ctx, name),
            )
        with contextlib.suppress(Exception):  # best effort, like the error reply
            await reply(ctx, OUTAGE_REPLY, is_ephemeral=True)

    def _note_expired(self, ctx: arc.GatewayContext, name: str) -> None:
        """Count and log (no traceback) a reply refused because the window had passed."""
        self._metrics.interactions_unanswered.labels(name).inc()
        logger.warning(
            "/%s was answered after Discord's 3 s window had passed; the user saw "
            "'did not respond'",
            name,
            extra=self._log_fields(ctx, name),
        )

    async def _finish(self, ctx: arc.GatewayContext) -> None:
        invocation = self._invocations.pop(ctx, None)
        if invocation is None:
            return
        if invocation.deferral is not None:
            await invocation.deferral.stop()
        if invocation.outcome is CommandOutcome.OK and (
            not ctx.issued_response or is_only_deferred(ctx)
        ):
            invocation.outcome = CommandOutcome.UNANSWERED
            await self._answer_for(ctx, invocation.command)
        duration_s = None
        if invocation.outcome is not CommandOutcome.CLAIMED_ELSEWHERE:
            duration_s = time.monotonic() - invocation.started_s
        self._metrics.record_command(invocation.command, invocation.outcome, duration_s)

    async def _answer_for(self, ctx: arc.GatewayContext, name: str) -> None:
        fields = self._log_fields(ctx, name)
        logger.warning("/%s returned without answering; answering for it", name, extra=fields)
        try:
            await reply_unanswered(ctx)
        except Exception as error:  # best effort, like the error reply
            self._metrics.interactions_unanswered.labels(name).inc()
            logger.warning(
                "could not answer for /%s: %s",
                name,
                type(error).__name__,
                exc_info=not is_expired_reply(error),
                extra=fields,
            )
