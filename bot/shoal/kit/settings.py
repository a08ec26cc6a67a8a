"""Per-guild settings declared by each feature as a typed schema, and modules' on/off flags.

A feature declares its settings as a frozen pydantic model whose every field has a
default (``Module.settings``). The values a guild changed are stored as one JSON object
under the feature's name in the guild's existing settings row (the cached repository,
invalidated across pods over pub/sub); what the guild never set keeps the schema's
default, so adding a field needs no migration.

:class:`FeatureSettings` is the kit's service: :meth:`~FeatureSettings.get` returns a
guild's validated model (a stored value the schema no longer accepts, after an update
changed a field, is logged once and replaced by its default rather than breaking the
feature), :meth:`~FeatureSettings.update` validates a change and refuses a bad value with
:class:`SettingsRefusedError` naming the field, and :meth:`~FeatureSettings.is_enabled`
answers the middleware's switch question.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Final, TypeVar

import pydantic

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shoal.storage.guild_settings import GuildSettings, GuildSettingsRepository, JsonValue

__all__ = [
    "FeatureSettings",
    "ModuleEntry",
    "SettingsRefusedError",
    "describe_error",
    "stored_changes",
]

_log = logging.getLogger(__name__)

_MAX_MODELS: Final = 100_000
"""Validated models remembered at most (guilds x features); all forgotten past it."""

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


class SettingsRefusedError(ValueError):
    """A settings change the schema refuses; the message names the field and the rule."""

    def __init__(self, feature: str, field: str, message: str) -> None:
        """Record which ``field`` of ``feature`` was refused and why."""
        super().__init__(f"{feature}.{field}: {message}")
        self.feature = feature
        self.field = field
        self.message = message


def describe_error(error: pydantic.ValidationError) -> tuple[str, str]:
    """Return (field path, message) of a validation error's first problem, for a human."""
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"]) or "(settings)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "is not a setting of this module"
    return path, message


def stored_changes(model: pydantic.BaseModel) -> dict[str, Any]:
    """Return the JSON of the fields of ``model`` that differ from the schema's defaults."""
    defaults = type(model)()
    current = model.model_dump(mode="json")
    base = defaults.model_dump(mode="json")
    return {name: value for name, value in current.items() if base.get(name) != value}


@dataclasses.dataclass(frozen=True, slots=True)
class ModuleEntry:
    """What ``/settings`` shows of one module."""

    name: str
    """Its name (flag and settings key)."""
    title: str
    """How members see it named."""
    is_switchable: bool
    """Whether a guild may switch it off."""
    is_on_by_default: bool
    """Its flag in a guild that never set one."""
    schema: type[pydantic.BaseModel] | None = None
    """Its settings, if it has any."""


def _check_defaults(feature: str, schema: type[pydantic.BaseModel]) -> None:
    try:
        schema()
    except pydantic.ValidationError as error:
        msg = f"{feature}'s settings schema needs a default for every field: {error}"
        raise ValueError(msg) from None


class FeatureSettings:
    """Typed settings and on/off flags of every feature, per guild (see the module docstring)."""

    __slots__ = ("_logged", "_models", "_modules", "_repository", "_schemas")

    def __init__(
        self,
        repository: GuildSettingsRepository,
        schemas: Mapping[str, type[pydantic.BaseModel]] | None = None,
    ) -> None:
        """Read and write through ``repository``; ``schemas`` maps feature -> its model."""
        self._repository = repository
        self._schemas: dict[str, type[pydantic.BaseModel]] = {}
        self._modules: dict[str, ModuleEntry] = {}
        for feature, schema in (schemas or {}).items():
            self.declare(feature, schema)
        self._logged: set[tuple[int, str]] = set()
        # (guild, feature) -> the stored settings a model was validated from, and the model:
        # validating costs tens of microseconds, and stored settings are replaced, never
        # changed, so the same object gives the same model.
        self._models: dict[tuple[int, str], tuple[GuildSettings, pydantic.BaseModel]] = {}

    def declare(self, feature: str, schema: type[pydantic.BaseModel]) -> None:
        """Add ``feature``'s schema (the kit is built before the modules that declare them).

        Raises:
            ValueError: a field without a default, or ``feature`` declared twice.
        """
        if feature in self._schemas:
            msg = f"{feature} declared its settings twice"
            raise ValueError(msg)
        _check_defaults(feature, schema)
        self._schemas[feature] = schema

    def declare_module(self, entry: ModuleEntry) -> None:
        """Add a module admins can see in ``/settings`` (and its schema, if it has one)."""
        if entry.schema is not None:
            self.declare(entry.name, entry.schema)
        self._modules[entry.name] = entry

    @property
    def modules(self) -> Mapping[str, ModuleEntry]:
        """Every declared module, by name, in load order."""
        return self._modules

    @property
    def schemas(self) -> Mapping[str, type[pydantic.BaseModel]]:
        """Every feature's schema, by feature name."""
        return self._schemas

    async def is_enabled(self, guild_id: int, module: str, *, is_on_by_default: bool) -> bool:
        """Return whether ``module`` is on in ``guild_id`` (the middleware's switch)."""
        stored = await self._repository.get(guild_id)
        return stored.is_enabled(module, is_on_by_default=is_on_by_default)

    async def switch(self, guild_id: int, module: str, *, is_on: bool) -> None:
        """Turn ``module`` on or off in ``guild_id`` (every pod sees it at once)."""
        if is_on:
            await self._repository.enable_feature(guild_id, module)
        else:
            await self._repository.disable_feature(guild_id, module)

    async def get(self, guild_id: int, schema: type[ModelT], feature: str) -> ModelT:
        """Return ``guild_id``'s settings of ``feature`` as its ``schema`` model."""
        stored = await self._repository.get(guild_id)
        return self._model_of(stored, schema, feature)

    def peek(
        self, guild_id: int, schema: type[ModelT], feature: str, *, is_on_by_default: bool
    ) -> tuple[bool, ModelT] | None:
        """Return whether ``feature`` is on in ``guild_id`` and its settings, without I/O.

        None when this process does not hold the guild's settings now (or its repository
        keeps no cache): then await :meth:`is_enabled` and :meth:`get`. For hot paths
        that would otherwise await two reads per guild per batch.
        """
        peek = getattr(self._repository, "peek", None)
        stored = None if peek is None else peek(guild_id)
        if stored is None:
            return None
        is_on = stored.is_enabled(feature, is_on_by_default=is_on_by_default)
        return is_on, self._model_of(stored, schema, feature)

    def _model_of(self, stored: GuildSettings, schema: type[ModelT], feature: str) -> ModelT:
        key = (stored.guild_id, feature)
        known = self._models.get(key)
        if known is not None and known[0] is stored and isinstance(known[1], schema):
            return known[1]
        model = self._validated(stored.guild_id, feature, schema, stored.setting(feature))
        if len(self._models) >= _MAX_MODELS:
            self._models.clear()  # rare: a worker holds a few thousand guilds
        self._models[key] = (stored, model)
        return model

    async def update(self, guild_id: int, feature: str, changes: Mapping[str, object]) -> Any:  # noqa: ANN401 - the feature's own model
        """Apply ``changes`` (field -> new value) to ``feature``'s settings; return the model.

        Raises:
            SettingsRefusedError: a field that does not exist or a value its rule refuses;
                nothing is stored.
            KeyError: ``feature`` declares no settings.
        """
        schema = self._schemas[feature]
        current = await self.get(guild_id, schema, feature)
        merged = current.model_dump(mode="json") | dict(changes)
        try:
            updated = schema.model_validate(merged)
        except pydantic.ValidationError as error:
            field, message = describe_error(error)
            raise SettingsRefusedError(feature, field, message) from None
        await self._repository.set_setting(guild_id, feature, stored_changes(updated))
        return updated

    async def reset(self, guild_id: int, feature: str, field: str | None = None) -> Any:  # noqa: ANN401 - the feature's own model
        """Put ``field`` (or every field) of ``feature`` back to its default; return the model.

        Raises:
            SettingsRefusedError: ``field`` is not a setting of ``feature``.
            KeyError: ``feature`` declares no settings.
        """
        schema = self._schemas[feature]
        if field is not None and field not in schema.model_fields:
            raise SettingsRefusedError(feature, field, "is not a setting of this module")
        raw = (await self._repository.get(guild_id)).setting(feature)
        kept: dict[str, JsonValue] = {}
        if field is not None and isinstance(raw, dict):
            kept = {name: value for name, value in raw.items() if name != field}
        await self._repository.set_setting(guild_id, feature, kept)
        return self._validated(guild_id, feature, schema, kept)

    def _validated(
        self, guild_id: int, feature: str, schema: type[ModelT], raw: JsonValue
    ) -> ModelT:
        if not isinstance(raw, dict):
            return schema()
        try:
            return schema.model_validate(raw)
        except pydantic.ValidationError as error:
            # A stored value an update no longer accepts: drop the bad fields, keep the rest.
            bad = {str(problem["loc"][0]) for problem in error.errors() if problem["loc"]}
            if (guild_id, feature) not in self._logged:
                self._logged.add((guild_id, feature))
                _log.warning(
                    "guild %d: stored %s settings %s no longer valid; using their defaults",
                    guild_id,
                    feature,
                    ", ".join(sorted(bad)),
                )
            kept = {name: value for name, value in raw.items() if name not in bad}
            try:
                return schema.model_validate(kept)
            except pydantic.ValidationError:
                return schema()
