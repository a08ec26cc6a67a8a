"""The DiscordBot ``spec``: parsed, defaulted and checked into frozen value objects.

Owns the spec's shape as the operator sees it: every default, bound and cross-field rule of
``charts/shoal/crds/discordbots.shoal.dev.yaml`` written once more in Python, because a real
API server defaults and validates a DiscordBot but the test API server (kmock) does neither.
Like a structural schema, unknown fields are errors and ``null`` means "not set". A bad spec
raises :class:`SpecError` naming the field's path. Does not own reconciling, status, or what
the spec means for shard counts (that is ``shoal.planning``).

The parts: ``values`` (the value objects), ``intents`` (intent names and bits), ``reading``
(:class:`SpecError` and typed reads of one object) and ``parsing`` (:func:`parse_spec`). Import
the public names from here.
"""

from __future__ import annotations

from shoal_operator.spec.intents import INTENT_BITS, intents_bitmask
from shoal_operator.spec.parsing import parse_spec
from shoal_operator.spec.reading import SpecError
from shoal_operator.spec.values import (
    BotSpec,
    DiscordSpec,
    LavalinkSpec,
    Resources,
    SecretKeyRef,
    ShardsSpec,
    WorkersSpec,
)

__all__ = [
    "INTENT_BITS",
    "BotSpec",
    "DiscordSpec",
    "LavalinkSpec",
    "Resources",
    "SecretKeyRef",
    "ShardsSpec",
    "SpecError",
    "WorkersSpec",
    "intents_bitmask",
    "parse_spec",
]
