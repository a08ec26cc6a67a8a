"""POST /interactions/{id}/{token}/callback: the initial response, exactly once, within 3 s.

The deadline counts from the first INTERACTION_CREATE sent (``dispatched_at``). A
late response gets 404 10062, a second one 400 40060; both are counted, and so is an
accepted one, by :class:`shoal_sim.discord.stats.SimStats`. An accepted
response is recorded on the interaction and acted on: type 4 posts the original
message, 5 posts a "thinking" one (flag LOADING), 7 edits the message whose component
was used. With ``with_response=true`` (hikari always asks) the answer is an
InteractionCallbackResponse, else 204. No bot token; exempt from the global limit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import payloads
from shoal_sim.discord.entities import InteractionOutcome
from shoal_sim.discord.rest import errors, interaction_rules, message_rules, posting
from shoal_sim.discord.rest.calls import json_response, no_content
from shoal_sim.discord.rest.endpoints import Auth, Endpoint
from shoal_sim.discord.rest.interaction_rules import CallbackVerdict
from shoal_sim.discord.rest.message_rules import EPHEMERAL, LOADING, SENDABLE_FLAGS

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Interaction, Message
    from shoal_sim.discord.rest.bodies import Body
    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]

JSON = dict[str, Any]
_MESSAGE_TYPES: Final = frozenset(
    {interaction_rules.CHANNEL_MESSAGE, interaction_rules.UPDATE_MESSAGE}
)


async def create_response(call: Call) -> web.Response:
    """POST /interactions/{interaction_id}/{interaction_token}/callback."""
    interaction_id = call.snowflake("interaction_id")
    body = await call.body()
    interaction = call.world.interactions.get(interaction_id)
    if interaction is None or interaction.token != call.request.match_info["interaction_token"]:
        raise errors.DiscordError(errors.UNKNOWN_INTERACTION)
    now = time.monotonic()
    started_at = interaction.created_at
    if interaction.dispatched_at is not None:  # the deadline counts from the first dispatch
        started_at = interaction.dispatched_at
    interaction.acknowledge_attempts += 1
    verdict = interaction_rules.judge_callback(
        started_at=started_at,
        responded_at=interaction.responded_at,
        now=now,
        deadline_s=call.sim.settings.interaction_deadline_s,
        is_expired=interaction.outcome is InteractionOutcome.UNANSWERED,
    )
    stats = call.sim.stats
    if verdict is CallbackVerdict.ALREADY_ACKNOWLEDGED:
        stats.count_double_acknowledged(interaction)
        raise errors.DiscordError(errors.INTERACTION_ALREADY_ACKNOWLEDGED)
    if verdict is CallbackVerdict.LATE:
        stats.count_late(interaction)
        raise errors.DiscordError(errors.UNKNOWN_INTERACTION)
    draft, source = _checked(call, interaction, body)
    interaction.responded_at = now
    interaction.response_type = body.json["type"]
    interaction.response = body.json
    stats.count_answered(interaction, latency_ms=(now - started_at) * 1000)
    message = _act(call, interaction, body, draft, source)
    if not call.query_flag("with_response"):
        return no_content()
    return json_response(_callback_response(call, interaction, message))


def _checked(
    call: Call,
    interaction: Interaction,
    body: Body,
) -> tuple[message_rules.Draft | None, Message | None]:
    """Check the body before anything is recorded: a refused response acknowledges nothing."""
    interaction_rules.check_callback(interaction.type, body.json).raise_if_any()
    response_type = body.json["type"]
    data = body.json.get("data") or {}
    draft = None
    if response_type in _MESSAGE_TYPES or response_type == (
        interaction_rules.DEFERRED_CHANNEL_MESSAGE
    ):
        try:
            draft = message_rules.parse_draft(
                data, upload_count=len(body.uploads), allowed_flags=SENDABLE_FLAGS | EPHEMERAL
            )
        except errors.DiscordError as exc:
            raise _under_data(exc) from None
    if response_type == interaction_rules.CHANNEL_MESSAGE and draft is not None:
        message_rules.check_not_empty(draft, file_count=len(body.uploads))
    source = None
    if response_type in (
        interaction_rules.UPDATE_MESSAGE,
        interaction_rules.DEFERRED_UPDATE_MESSAGE,
    ):
        source = _source_message(call, interaction)
    return draft, source


def _under_data(exc: errors.DiscordError) -> errors.DiscordError:
    """Move a message body's field errors under ``data`` (they came from ``data``)."""
    if exc.errors is None:
        return exc
    return errors.DiscordError(exc.failure, {"data": exc.errors})


def _source_message(call: Call, interaction: Interaction) -> Message:
    source_id = interaction.source_message_id
    source = None if source_id is None else call.world.message(interaction.channel_id, source_id)
    if source is None:
        raise errors.DiscordError(errors.UNKNOWN_MESSAGE)
    return source


def _act(
    call: Call,
    interaction: Interaction,
    body: Body,
    draft: message_rules.Draft | None,
    source: Message | None,
) -> Message | None:
    """Do what the response type asks; return the message it created or edited."""
    app = call.world.applications[interaction.application_id]
    response_type = body.json["type"]
    is_update = response_type == interaction_rules.UPDATE_MESSAGE
    if is_update and source is not None and draft is not None:
        posting.apply_edit(call.sim, app, source, draft, body.uploads)
        return source
    if response_type == interaction_rules.DEFERRED_UPDATE_MESSAGE:
        return source
    if draft is None:
        return None
    flags = LOADING if response_type == interaction_rules.DEFERRED_CHANNEL_MESSAGE else 0
    if response_type == interaction_rules.DEFERRED_CHANNEL_MESSAGE:
        draft = message_rules.Draft(flags=(draft.flags or 0) & EPHEMERAL)
    message = posting.post_message(
        call.sim,
        app,
        channel_id=interaction.channel_id,
        guild_id=interaction.guild_id,
        draft=draft,
        uploads=body.uploads if flags == 0 else (),
        flags=flags,
        message_type=interaction_rules.message_type_for(interaction.type, interaction.data),
        interaction_id=interaction.id,
    )
    interaction.original_message_id = message.id
    return message


def _callback_response(call: Call, interaction: Interaction, message: Message | None) -> JSON:
    """Return the InteractionCallbackResponse (hikari parses ``interaction`` and ``resource``)."""
    response_type = interaction.response_type
    callback: JSON = {"id": str(interaction.id), "type": interaction.type}
    payload: JSON = {"interaction": callback}
    if message is None or response_type == interaction_rules.DEFERRED_UPDATE_MESSAGE:
        return payload
    callback["response_message_id"] = str(message.id)
    callback["response_message_loading"] = bool(message.flags & LOADING)
    callback["response_message_ephemeral"] = bool(message.flags & EPHEMERAL)
    if response_type in _MESSAGE_TYPES:
        payload["resource"] = {
            "type": response_type,
            "message": payloads.message_json(message, call.world, call.sim.base_url),
        }
    return payload


ENDPOINTS: Final = (
    Endpoint(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        create_response,
        None,
        auth=Auth.PATH_TOKEN,
    ),
)
