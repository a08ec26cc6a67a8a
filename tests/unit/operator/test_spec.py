"""The DiscordBot spec parser: defaults, bounds, types, unknown fields and cross-field rules."""

from __future__ import annotations

import copy
import types

import pytest

from shoal_operator.spec import (
    INTENT_BITS,
    BotSpec,
    DiscordSpec,
    LavalinkSpec,
    Resources,
    SecretKeyRef,
    ShardsSpec,
    SpecError,
    WorkersSpec,
    intents_bitmask,
    parse_spec,
)

_MINIMAL: dict[str, object] = {
    "image": "ghcr.io/shoal-bot/shoal:0.1.0",
    "tokenSecretRef": {"name": "mybot-token"},
    "redis": {"urlSecretRef": {"name": "mybot-redis"}},
    "postgres": {"dsnSecretRef": {"name": "mybot-postgres"}},
    "lavalink": {"passwordSecretRef": {"name": "mybot-lavalink"}},
}
_NO_RESOURCES = Resources(requests={}, limits={})


def _spec(changes: dict[str, object] | None = None, *removals: str) -> dict[str, object]:
    """Return the minimal spec with ``changes`` (dotted paths) set and ``removals`` deleted."""
    spec = copy.deepcopy(_MINIMAL)
    for dotted, value in (changes or {}).items():
        *parents, last = dotted.split(".")
        target = spec
        for name in parents:
            child = target.setdefault(name, {})
            assert isinstance(child, dict)
            target = child
        target[last] = value
    for dotted in removals:
        *parents, last = dotted.split(".")
        target = spec
        for name in parents:
            child = target[name]
            assert isinstance(child, dict)
            target = child
        del target[last]
    return spec


def _error(spec: object) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse_spec(spec)
    return caught.value


# --- Defaults ---


def test_parse_spec_applies_every_default_when_the_spec_is_minimal() -> None:
    assert parse_spec(_MINIMAL) == BotSpec(
        image="ghcr.io/shoal-bot/shoal:0.1.0",
        image_pull_policy="IfNotPresent",
        token_secret=SecretKeyRef(name="mybot-token", key="token"),
        intents=(1 << 0) | (1 << 1) | (1 << 7) | (1 << 9) | (1 << 15),
        discord=DiscordSpec(api_base_url="https://discord.com/api/v10", identify_window_s=5.0),
        shards=ShardsSpec(
            mode="Auto",
            count=None,
            target_guilds_per_shard=1000,
            max_guilds_per_shard=2500,
            shards_per_pod=4,
            headroom=0.1,
            growth_horizon_s=168 * 3600.0,
            shrink_cooldown_s=60 * 60,
        ),
        workers=WorkersSpec(
            resources=_NO_RESOURCES,
            log_level="INFO",
            pod_annotations={},
            node_selector={},
        ),
        redis_secret=SecretKeyRef(name="mybot-redis", key="url"),
        postgres_secret=SecretKeyRef(name="mybot-postgres", key="dsn"),
        lavalink=LavalinkSpec(
            is_enabled=True,
            nodes=None,
            target_players_per_node=200,
            min_nodes=1,
            max_nodes=4,
            image="ghcr.io/lavalink-devs/lavalink:4.2.2-alpine",
            resources=_NO_RESOURCES,
            java_heap="512m",
            password_secret=SecretKeyRef(name="mybot-lavalink", key="password"),
        ),
    )


def test_parse_spec_treats_null_as_unset_when_a_field_is_null() -> None:
    nulls = _spec({"imagePullPolicy": None, "shards": None, "discord.apiBaseUrl": None})
    assert parse_spec(nulls) == parse_spec(_MINIMAL)


def test_parse_spec_converts_units_when_values_are_set() -> None:
    spec = parse_spec(
        _spec(
            {
                "shards.headroomPercent": 25,
                "shards.growthHorizonHours": 1.5,
                "shards.shrinkCooldownMinutes": 2,
                "discord.identifyWindowSeconds": 1,
            }
        )
    )
    assert spec.shards.headroom == 0.25
    assert spec.shards.growth_horizon_s == 5400.0
    assert spec.shards.shrink_cooldown_s == 120
    assert spec.discord.identify_window_s == 1.0
    assert isinstance(spec.discord.identify_window_s, float)


def test_parse_spec_normalises_quantities_to_strings_when_given_integers() -> None:
    spec = parse_spec(
        _spec(
            {
                "workers.resources": {"requests": {"cpu": 1, "memory": "1Gi"}},
                "lavalink.resources": {"limits": {"memory": "1536Mi"}},
            }
        )
    )
    assert spec.workers.resources == Resources(requests={"cpu": "1", "memory": "1Gi"}, limits={})
    assert spec.lavalink.resources.limits == {"memory": "1536Mi"}
    assert isinstance(spec.workers.resources.requests, types.MappingProxyType)


def test_parse_spec_keeps_maps_and_fixed_counts_when_set() -> None:
    spec = parse_spec(
        _spec(
            {
                "shards.mode": "Fixed",
                "shards.count": 96,
                "workers.podAnnotations": {"prometheus.io/scrape": "true"},
                "workers.nodeSelector": {"kubernetes.io/os": "linux"},
                "lavalink.nodes": 0,
            }
        )
    )
    assert (spec.shards.mode, spec.shards.count) == ("Fixed", 96)
    assert spec.workers.pod_annotations == {"prometheus.io/scrape": "true"}
    assert spec.workers.node_selector == {"kubernetes.io/os": "linux"}
    assert spec.lavalink.nodes == 0


# --- Bounds ---

_BOUNDS: list[tuple[str, float, float, dict[str, object]]] = [
    # (field, minimum, maximum, other changes the extreme values need)
    ("shards.count", 1, 100_000, {"shards.mode": "Fixed"}),
    ("shards.targetGuildsPerShard", 100, 2500, {}),
    ("shards.maxGuildsPerShard", 100, 2500, {"shards.targetGuildsPerShard": 100}),
    ("shards.shardsPerPod", 1, 64, {}),
    ("shards.headroomPercent", 0, 500, {}),
    ("shards.growthHorizonHours", 0, 8760, {}),
    ("shards.shrinkCooldownMinutes", 0, 10_080, {}),
    ("discord.identifyWindowSeconds", 0.1, 60, {}),
    ("lavalink.nodes", 0, 32, {}),
    ("lavalink.targetPlayersPerNode", 1, 10_000, {}),
    ("lavalink.minNodes", 0, 32, {"lavalink.maxNodes": 32}),
    ("lavalink.maxNodes", 1, 32, {"lavalink.minNodes": 0}),
]


@pytest.mark.parametrize(("field", "minimum", "maximum", "extra"), _BOUNDS)
def test_parse_spec_accepts_a_value_when_it_is_at_a_bound(
    field: str, minimum: float, maximum: float, extra: dict[str, object]
) -> None:
    parse_spec(_spec({**extra, field: minimum}))
    parse_spec(_spec({**extra, field: maximum}))


@pytest.mark.parametrize(("field", "minimum", "maximum", "extra"), _BOUNDS)
def test_parse_spec_names_the_bound_when_a_value_is_outside_it(
    field: str, minimum: float, maximum: float, extra: dict[str, object]
) -> None:
    below = minimum - 1 if isinstance(minimum, int) else 0.05
    error = _error(_spec({**extra, field: below}))
    assert str(error) == f"spec.{field}: must be at least {minimum}, got {below}"
    error = _error(_spec({**extra, field: maximum + 1}))
    assert str(error) == f"spec.{field}: must be at most {maximum}, got {maximum + 1}"


def test_spec_error_reads_like_a_field_message_when_a_count_is_zero() -> None:
    error = _error(_spec({"shards.mode": "Fixed", "shards.count": 0}))
    assert str(error) == "spec.shards.count: must be at least 1, got 0"
    assert isinstance(error, ValueError)
    assert (error.path, error.problem) == ("spec.shards.count", "must be at least 1, got 0")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image": ""}, "spec.image: must not be empty"),
        ({"image": "x" * 513}, "spec.image: must be at most 512 characters, got 513"),
        ({"imagePullPolicy": "Sometimes"}, "spec.imagePullPolicy: must be one of Always, "),
        ({"shards.mode": "Manual"}, "spec.shards.mode: must be one of Auto, Fixed, got 'Manual'"),
        ({"workers.logLevel": "TRACE"}, "spec.workers.logLevel: must be one of DEBUG, "),
        ({"tokenSecretRef.name": "Bad_Name"}, "spec.tokenSecretRef.name: must match "),
        ({"tokenSecretRef.name": "a" * 254}, "spec.tokenSecretRef.name: must be at most 253 "),
        ({"redis.urlSecretRef.key": "a key"}, "spec.redis.urlSecretRef.key: must match "),
        ({"discord.apiBaseUrl": "discord.com"}, "spec.discord.apiBaseUrl: must match "),
        ({"discord.apiBaseUrl": "ftp://discord.com"}, "spec.discord.apiBaseUrl: must match "),
        ({"discord.identifyWindowSeconds": float("nan")}, "must be a finite number, got nan"),
        ({"lavalink.javaHeap": "512"}, "spec.lavalink.javaHeap: must match "),
        ({"lavalink.javaHeap": "1t"}, "spec.lavalink.javaHeap: must match "),
        ({"workers.resources": {"limits": {"cpu": "lots"}}}, "spec.workers.resources.limits.cpu"),
        ({"workers.resources": {"limits": {"": "1"}}}, "keys must be non-empty strings"),
        ({"workers.nodeSelector": {"zone": "z" * 64}}, "spec.workers.nodeSelector.zone: must be"),
        (
            {"workers.podAnnotations": {f"a{i}": "x" for i in range(65)}},
            "spec.workers.podAnnotations: must have at most 64 entries, got 65",
        ),
        (
            {"lavalink.resources": {"requests": {f"r{i}": 1 for i in range(17)}}},
            "spec.lavalink.resources.requests: must have at most 16 entries, got 17",
        ),
    ],
)
def test_parse_spec_names_the_field_when_a_string_or_map_is_invalid(
    changes: dict[str, object], message: str
) -> None:
    assert message in str(_error(_spec(changes)))


@pytest.mark.parametrize(
    "changes",
    [
        {"discord.apiBaseUrl": "http://shoal-sim:8080/api/v10"},
        {"lavalink.javaHeap": "2G"},
        {"workers.resources": {"requests": {"cpu": "250m", "memory": "1.5Gi", "x": "1e3"}}},
        {"tokenSecretRef.name": "my-bot.tokens", "tokenSecretRef.key": "BOT_TOKEN.v2"},
        {"intents": []},
    ],
)
def test_parse_spec_accepts_a_value_when_it_matches_the_crd(changes: dict[str, object]) -> None:
    parse_spec(_spec(changes))


# --- Types ---


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image": 1}, "spec.image: must be a string, got integer"),
        ({"shards.count": "8"}, "spec.shards.count: must be an integer, got string"),
        (
            {"shards.shardsPerPod": True},
            "spec.shards.shardsPerPod: must be an integer, got boolean",
        ),
        ({"shards.shardsPerPod": 4.0}, "spec.shards.shardsPerPod: must be an integer, got number"),
        ({"shards.growthHorizonHours": "1d"}, "spec.shards.growthHorizonHours: must be a number"),
        (
            {"discord.identifyWindowSeconds": False},
            "spec.discord.identifyWindowSeconds: must be a number, got boolean",
        ),
        ({"lavalink.enabled": "yes"}, "spec.lavalink.enabled: must be a boolean, got string"),
        ({"lavalink.enabled": 1}, "spec.lavalink.enabled: must be a boolean, got integer"),
        ({"shards": [1]}, "spec.shards: must be an object, got array"),
        ({"tokenSecretRef": "mybot-token"}, "spec.tokenSecretRef: must be an object, got string"),
        ({"intents": "Guilds"}, "spec.intents: must be an array, got string"),
        ({"intents": [1]}, "spec.intents[0]: must be a string, got integer"),
        (
            {"workers.nodeSelector": ["a"]},
            "spec.workers.nodeSelector: must be an object, got array",
        ),
        ({"workers.podAnnotations": {"a": 1}}, "spec.workers.podAnnotations.a: must be a string"),
        (
            {"workers.resources": {"requests": {"cpu": True}}},
            "spec.workers.resources.requests.cpu: must be an integer or a string, got boolean",
        ),
        (
            {"workers.resources": {"requests": {"cpu": 0.5}}},
            "spec.workers.resources.requests.cpu: must be an integer or a string, got number",
        ),
    ],
)
def test_parse_spec_names_the_expected_type_when_a_value_has_the_wrong_type(
    changes: dict[str, object], message: str
) -> None:
    assert str(_error(_spec(changes))).startswith(message)


@pytest.mark.parametrize("raw", [None, [], "spec", 3])
def test_parse_spec_refuses_the_spec_when_it_is_not_an_object(raw: object) -> None:
    assert _error(raw).path == "spec"


# --- Unknown and missing fields ---


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"replicas": 3}, "spec.replicas"),
        ({"shards.shardCount": 3}, "spec.shards.shardCount"),
        ({"discord.token": "x"}, "spec.discord.token"),
        ({"workers.replicas": 2}, "spec.workers.replicas"),
        ({"workers.resources": {"claims": []}}, "spec.workers.resources.claims"),
        ({"tokenSecretRef.namespace": "other"}, "spec.tokenSecretRef.namespace"),
        ({"redis.url": "redis://x"}, "spec.redis.url"),
        ({"lavalink.passwordSecretRef.optional": True}, "spec.lavalink.passwordSecretRef.optional"),
    ],
)
def test_parse_spec_refuses_an_unknown_field_when_one_is_present(
    changes: dict[str, object], path: str
) -> None:
    assert str(_error(_spec(changes))) == f"{path}: unknown field"


@pytest.mark.parametrize(
    "path",
    [
        "image",
        "tokenSecretRef",
        "tokenSecretRef.name",
        "redis",
        "redis.urlSecretRef",
        "redis.urlSecretRef.name",
        "postgres",
        "postgres.dsnSecretRef",
        "postgres.dsnSecretRef.name",
    ],
)
def test_parse_spec_names_a_required_field_when_it_is_missing(path: str) -> None:
    assert str(_error(_spec(None, path))) == f"spec.{path}: is required"


# --- Cross-field rules (the CRD's CEL rules) ---


@pytest.mark.parametrize(
    ("changes", "removals", "message"),
    [
        (
            {"shards.mode": "Fixed"},
            (),
            "spec.shards.count: is required when mode is Fixed",
        ),
        (
            {"shards.targetGuildsPerShard": 2000, "shards.maxGuildsPerShard": 1500},
            (),
            "spec.shards.targetGuildsPerShard: must not exceed maxGuildsPerShard (1500), got 2000",
        ),
        (
            {"lavalink.minNodes": 5, "lavalink.maxNodes": 2},
            (),
            "spec.lavalink.minNodes: must not exceed maxNodes (2), got 5",
        ),
        (
            {},
            ("lavalink.passwordSecretRef",),
            "spec.lavalink.passwordSecretRef: is required when lavalink is enabled",
        ),
        (
            {"lavalink.enabled": True},
            ("lavalink",),
            "spec.lavalink.passwordSecretRef: is required when lavalink is enabled",
        ),
    ],
)
def test_parse_spec_refuses_the_spec_when_fields_disagree(
    changes: dict[str, object], removals: tuple[str, ...], message: str
) -> None:
    assert str(_error(_spec(changes, *removals))) == message


def test_parse_spec_needs_no_password_when_lavalink_is_disabled() -> None:
    spec = parse_spec(_spec({"lavalink": {"enabled": False}}))
    assert spec.lavalink.is_enabled is False
    assert spec.lavalink.password_secret is None


def test_parse_spec_keeps_the_password_when_lavalink_is_disabled_but_names_one() -> None:
    spec = parse_spec(_spec({"lavalink.enabled": False}))
    assert spec.lavalink.password_secret == SecretKeyRef(name="mybot-lavalink", key="password")


def test_parse_spec_allows_a_count_when_mode_is_auto() -> None:
    spec = parse_spec(_spec({"shards.count": 8}))
    assert (spec.shards.mode, spec.shards.count) == ("Auto", 8)


# --- Intents ---


@pytest.mark.parametrize(
    ("names", "mask"),
    [
        ([], 0),
        (["Guilds"], 1),
        (["GuildMembers", "GuildPresences", "MessageContent"], (1 << 1) | (1 << 8) | (1 << 15)),
        (["AutoModerationConfiguration", "AutoModerationExecution"], (1 << 20) | (1 << 21)),
        (["GuildMessagePolls", "DirectMessagePolls"], (1 << 24) | (1 << 25)),
        (["Guilds", "Guilds"], 1),
        (list(INTENT_BITS), 0b11_0011_0001_1111_1111_1111_1111),
    ],
)
def test_intents_bitmask_ors_the_bits_when_given_names(names: list[str], mask: int) -> None:
    assert intents_bitmask(names) == mask


def test_intents_bitmask_names_the_intent_when_it_is_unknown() -> None:
    with pytest.raises(ValueError, match="unknown intent 'Everything'"):
        intents_bitmask(["Guilds", "Everything"])


def test_intent_bits_are_distinct_powers_of_two_when_listed() -> None:
    bits = list(INTENT_BITS.values())
    assert len(bits) == 21
    assert all(bit & (bit - 1) == 0 for bit in bits)
    assert len(set(bits)) == len(bits)


@pytest.mark.parametrize(
    ("intents", "message"),
    [
        (["Guilds", "Everything"], "spec.intents[1]: must be one of Guilds, "),
        (["Guilds", "Guilds"], "spec.intents: must not repeat values, got Guilds twice"),
        (["Guilds"] * 33, "spec.intents: must have at most 32 items, got 33"),
    ],
)
def test_parse_spec_refuses_intents_when_they_are_unknown_or_repeated(
    intents: list[object], message: str
) -> None:
    assert str(_error(_spec({"intents": intents}))).startswith(message)


def test_parse_spec_builds_the_bitmask_when_intents_are_listed() -> None:
    spec = parse_spec(_spec({"intents": ["Guilds", "GuildMessages", "MessageContent"]}))
    assert spec.intents == (1 << 0) | (1 << 9) | (1 << 15)
