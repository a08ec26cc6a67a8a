"""Mounts the control API under ``/_sim``: every route, in one table.

Owns the URL surface and the sub-application's middleware (:func:`.inputs.bad_input`).
The handlers live in the group modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from shoal_sim.discord.control.forcing import TroubleHandlers
from shoal_sim.discord.control.guilds import GuildHandlers
from shoal_sim.discord.control.inputs import bad_input
from shoal_sim.discord.control.interactions import InteractionHandlers
from shoal_sim.discord.control.loads import LoadHandlers
from shoal_sim.discord.control.members import MemberHandlers
from shoal_sim.discord.control.messages import MessageHandlers
from shoal_sim.discord.control.outcomes import OutcomeHandlers
from shoal_sim.discord.control.overview import OverviewHandlers
from shoal_sim.discord.control.roles import RoleHandlers

if TYPE_CHECKING:
    from shoal_sim.discord.server import Simulator

__all__ = ["add_routes"]


def add_routes(app: web.Application, sim: Simulator) -> None:
    """Mount the control API on the simulator's application."""
    overview, guilds = OverviewHandlers(sim), GuildHandlers(sim)
    messages, interactions = MessageHandlers(sim), InteractionHandlers(sim)
    trouble, loads, outcomes = TroubleHandlers(sim), LoadHandlers(sim), OutcomeHandlers(sim)
    members, roles = MemberHandlers(sim), RoleHandlers(sim)
    sub = web.Application(middlewares=[bad_input])
    sub.router.add_get("/info", overview.info)
    sub.router.add_get("/stats", overview.stats)
    sub.router.add_post("/stats/reset", overview.reset_stats)
    sub.router.add_get("/sessions", overview.sessions)
    sub.router.add_get("/guilds", guilds.list_guilds)
    sub.router.add_post("/guilds", guilds.add_guilds)
    sub.router.add_get("/guilds/{guild_id}", guilds.guild_state)
    sub.router.add_delete("/guilds/{guild_id}", guilds.remove_guild)
    sub.router.add_patch("/guilds/{guild_id}", roles.edit_guild)
    sub.router.add_post("/guilds/{guild_id}/roles", roles.create_role)
    sub.router.add_patch("/guilds/{guild_id}/roles/{role_id}", roles.edit_role)
    sub.router.add_delete("/guilds/{guild_id}/roles/{role_id}", roles.delete_role)
    sub.router.add_post("/guilds/{guild_id}/members", members.add_member)
    sub.router.add_get("/guilds/{guild_id}/members/{user_id}", members.member_state)
    sub.router.add_delete("/guilds/{guild_id}/members/{user_id}", members.remove_member)
    sub.router.add_post(
        "/guilds/{guild_id}/members/{user_id}/screening", members.complete_screening
    )
    sub.router.add_put("/guilds/{guild_id}/members/{user_id}/roles", members.set_roles)
    sub.router.add_post("/messages", messages.inject_message)
    sub.router.add_get("/messages", messages.messages)
    sub.router.add_post("/interactions", interactions.inject_interaction)
    sub.router.add_get("/interactions", outcomes.list_interactions)
    sub.router.add_get("/interactions/{interaction_id}", interactions.interaction_state)
    sub.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", messages.attachment)
    sub.router.add_post("/shards/{shard_id}", trouble.force_shard)
    sub.router.add_post("/applications/{application_id}/reset-token", trouble.reset_token)
    sub.router.add_post("/applications/{application_id}/session-starts", trouble.session_starts)
    sub.router.add_post("/load", loads.start_load)
    sub.router.add_get("/load", loads.load_status)
    sub.router.add_delete("/load", loads.stop_load)
    app.add_subapp("/_sim", sub)
