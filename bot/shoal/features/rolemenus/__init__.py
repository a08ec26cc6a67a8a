"""Role menus: messages whose select menu or buttons let members give themselves roles.

An admin builds a menu from the guild's allow-list of self-assignable roles: a select
menu (up to 25 options) or buttons (up to 25, in rows of 5), one group whose mode is
single (choosing one removes the others) or multiple (between a minimum and a maximum).
Roles with dangerous permissions, managed roles and roles not below the bot's highest
role are refused when the menu is configured and again before every REST call. A deleted
role disables its option; the rest of the menu keeps working and admins are told.

Modules: `shoal.features.rolemenus.settings` (per-guild settings: the allow-list),
`shoal.features.rolemenus.rules` (validation and every selection decision, pure),
`shoal.features.rolemenus.components` (the arguments each persistent component carries),
`shoal.features.rolemenus.repository` (menus and options in PostgreSQL) and
``migrations/``; on top of them `shoal.features.rolemenus.texts` (what the commands say,
pure), `shoal.features.rolemenus.rendering` (the posted embed and components),
`shoal.features.rolemenus.service` (choices, posted messages, deleted roles, alerts: the
I/O), `shoal.features.rolemenus.commands` (``/rolemenu`` and the component route) and
`shoal.features.rolemenus.module` (``rolemenus_module(kit)``).
"""

from __future__ import annotations

__all__: list[str] = []
