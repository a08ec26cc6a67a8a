"""Interaction webhooks: follow-ups and the original response, by application id and token.

``/webhooks/{application_id}/{interaction_token}`` exists once the interaction is
acknowledged and for ``interaction_token_ttl_s`` (15 min) after it was created; before
and after, and for any other token, Discord answers 404 10015 Unknown Webhook.
``@original`` is the message the initial response created (types 4 and 5) or the one
it updated (types 6 and 7). No bot token; exempt from the global limit, but bucketed
per webhook and token.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import payloads
from shoal_sim.discord.rest import errors, interaction_rules, limits, message_rules, posting
from shoal_sim.discord.rest.calls import json_response, no_content
from shoal_sim.discord.rest.endpoints import Auth, Endpoint
from shoal_sim.discord.rest.message_rules import EPHEMERAL, LOADING, SENDABLE_FLAGS

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Interaction, Message
    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]


def _interaction(call: Call) -> Interaction:
    """Return the acknowledged, unexpired interaction whose webhook the path names."""
    webhook_id = call.snowflake("webhook_id")
    token = call.request.match_info["webhook_token"]
    interaction = call.world.interactions_by_token.get(token)
    if (
        interaction is None
        or interaction.application_id != webhook_id
        or (interaction.responded_at is None)
        or interaction_rules.is_token_expired(
            created_at=interaction.created_at,
            now=time.monotonic(),
            ttl_s=call.sim.settings.interaction_token_ttl_s,
        )
    ):
        raise errors.DiscordError(errors.UNKNOWN_WEBHOOK)
    return interaction


def _message(call: Call, interaction: Interaction) -> Message:
    """Return the message the path names: @original or one of the follow-ups."""
    if "message_id" not in call.request.match_info:  # .../messages/@original
        message_id = interaction.original_message_id or (
            interaction.source_message_id
            if interaction.response_type
            in (interaction_rules.UPDATE_MESSAGE, interaction_rules.DEFERRED_UPDATE_MESSAGE)
            else None
        )
    else:
        message_id = call.snowflake("message_id")
        if message_id not in interaction.followup_message_ids and (
            message_id != interaction.original_message_id
        ):
            message_id = None
    message = None if message_id is None else call.world.message(interaction.channel_id, message_id)
    if message is None:
        raise errors.DiscordError(errors.UNKNOWN_MESSAGE)
    return message


async def execute(call: Call) -> web.Response:
    """POST /webhooks/{id}/{token}: a follow-up message (returned with ``wait=true``)."""
    interaction = _interaction(call)
    body = await call.body()
    draft = message_rules.parse_draft(
        body.json, upload_count=len(body.uploads), allowed_flags=SENDABLE_FLAGS | EPHEMERAL
    )
    message_rules.check_not_empty(draft, file_count=len(body.uploads))
    app = call.world.applications[interaction.application_id]
    message = posting.post_message(
        call.sim,
        app,
        channel_id=interaction.channel_id,
        guild_id=interaction.guild_id,
        draft=draft,
        uploads=body.uploads,
        interaction_id=interaction.id,
    )
    interaction.followup_message_ids.append(message.id)
    if not call.query_flag("wait"):
        return no_content()
    return json_response(payloads.message_json(message, call.world, call.sim.base_url))


async def get_message(call: Call) -> web.Response:
    """GET /webhooks/{id}/{token}/messages/{message_id or @original}."""
    message = _message(call, _interaction(call))
    return json_response(payloads.message_json(message, call.world, call.sim.base_url))


async def edit_message(call: Call) -> web.Response:
    """PATCH /webhooks/{id}/{token}/messages/{message_id or @original}."""
    interaction = _interaction(call)
    message = _message(call, interaction)
    body = await call.body()
    draft = message_rules.parse_draft(body.json, upload_count=len(body.uploads))
    app = call.world.applications[interaction.application_id]
    posting.apply_edit(call.sim, app, message, draft, body.uploads, clear_flags=LOADING)
    return json_response(payloads.message_json(message, call.world, call.sim.base_url))


async def delete_message(call: Call) -> web.Response:
    """DELETE /webhooks/{id}/{token}/messages/{message_id or @original}."""
    interaction = _interaction(call)
    message = _message(call, interaction)
    app = call.world.applications[interaction.application_id]
    posting.delete_message(call.sim, app, message)
    return no_content()


_WEBHOOK: Final = "/webhooks/{webhook_id}/{webhook_token}"
_MAJOR: Final = ("webhook_id", "webhook_token")
_ORIGINAL: Final = _WEBHOOK + "/messages/@original"
_MESSAGE: Final = _WEBHOOK + "/messages/{message_id}"

ENDPOINTS: Final = (
    Endpoint("POST", _WEBHOOK, execute, limits.WEBHOOK_EXECUTE, _MAJOR, Auth.PATH_TOKEN),
    # @original before {message_id}: the router tries routes in order.
    *(
        Endpoint(method, path, handler, limits.WEBHOOK_MESSAGE, _MAJOR, Auth.PATH_TOKEN)
        for path in (_ORIGINAL, _MESSAGE)
        for method, handler in (
            ("GET", get_message),
            ("PATCH", edit_message),
            ("DELETE", delete_message),
        )
    ),
)
