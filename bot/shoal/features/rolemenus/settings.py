"""Role menus' per-guild settings (stored under the ``rolemenus`` key of guild settings).

Owns :class:`RoleMenusSettings`: how many menus a guild may have, and the allow-list of
roles admins may put on menus. The allow-list is required: an empty list allows no role
(the issue asks for menus "from an allow-list", and an explicit list is what keeps a role
created later, or renamed into something important, off every menu). A role on the list
must still pass the safety check (`shoal.kit.roles.self_role_refusal`). Does not own the
menus (`shoal.features.rolemenus.repository`) nor their rules.
"""

from __future__ import annotations

from typing import Annotated, Final

import pydantic

__all__ = ["MAX_MENUS_LIMIT", "SETTINGS_KEY", "RoleMenusSettings"]

#: The key of `shoal.storage.guild_settings.GuildSettings.settings` holding these settings.
SETTINGS_KEY: Final = "rolemenus"
#: The most menus a guild may be allowed (each is a message and up to 25 rows).
MAX_MENUS_LIMIT: Final = 100
_ALLOWED_MAX: Final = 250  # Discord's role limit per guild
_SNOWFLAKE_MAX: Final = 2**63 - 1

_Snowflake = Annotated[int, pydantic.Field(gt=0, le=_SNOWFLAKE_MAX, strict=True)]


class RoleMenusSettings(pydantic.BaseModel):
    """One guild's role menu settings; the defaults allow no role yet."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    max_menus: int = pydantic.Field(default=25, ge=1, le=MAX_MENUS_LIMIT, strict=True)
    """How many menus the guild may have at once."""
    allowed_role_ids: frozenset[_Snowflake] = pydantic.Field(
        default=frozenset(), max_length=_ALLOWED_MAX
    )
    """Roles admins may put on menus (mention them: @Red @Green); empty allows none."""

    def is_allowed(self, role_id: int) -> bool:
        """Return True when ``role_id`` is on the allow-list."""
        return role_id in self.allowed_role_ids
