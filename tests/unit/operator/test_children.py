"""The objects a DiscordBot owns: shard and Lavalink StatefulSets, Services, PDB, Job, names.

Specs come from the examples through the real spec parser, and every object is checked
against Kubernetes' own schemas (offline, strict: unknown fields are errors).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Final, cast

import kubernetes_validate  # type: ignore[import-untyped]  # the package ships no type hints
import pytest
import yaml

from shoal.config import redis_settings
from shoal_operator import children
from shoal_operator.spec import BotSpec, parse_spec

_EXAMPLES: Final = Path(__file__).resolve().parents[3] / "examples"
_NS: Final = "bots"
_BOT: Final = "mybot"
_DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
#: The oldest Kubernetes the chart supports, and the newest kubernetes-validate knows.
_KUBE_VERSIONS: Final = ("1.29", kubernetes_validate.latest_version())

Obj = dict[str, Any]


def _raw_spec(example: str = "discordbot-minimal.yaml") -> dict[str, Any]:
    document = yaml.safe_load((_EXAMPLES / example).read_text(encoding="utf-8"))
    return cast("dict[str, Any]", document["spec"])


def _spec(**shards: object) -> BotSpec:
    """Return the minimal example's spec with ``shards`` fields set."""
    raw = _raw_spec()
    raw["shards"] = dict(raw.get("shards") or {}) | shards
    return parse_spec(raw)


def _shard_set(spec: BotSpec | None = None, *, generation: int = 1, shards: int = 8) -> Obj:
    built = children.shard_stateful_set(
        spec or _spec(), namespace=_NS, bot=_BOT, generation=generation, shards=shards
    )
    return cast("Obj", built)


def _pod(stateful_set: Obj) -> Obj:
    return cast("Obj", stateful_set["spec"]["template"])


def _container(stateful_set: Obj, name: str) -> Obj:
    containers = _pod(stateful_set)["spec"]["containers"]
    return cast("Obj", next(c for c in containers if c["name"] == name))


def _env(container: Obj) -> dict[str, Obj]:
    return {entry["name"]: entry for entry in container["env"]}


def _port(container: Obj, name: str) -> int:
    return cast("int", next(p for p in container["ports"] if p["name"] == name)["containerPort"])


def _secret(env: dict[str, Obj], name: str) -> tuple[str, str]:
    ref = env[name]["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def _lavalink_set(spec: BotSpec | None = None, nodes: int = 2) -> Obj:
    built = children.lavalink_stateful_set(spec or _spec(), namespace=_NS, bot=_BOT, nodes=nodes)
    return cast("Obj", built)


@pytest.mark.parametrize(
    ("shards", "per_pod", "replicas"),
    [(1, 4, 1), (4, 4, 1), (5, 4, 2), (16, 4, 4), (17, 8, 3), (7, 1, 7), (64, 64, 1)],
)
def test_shard_stateful_set_has_ceil_replicas_when_shards_do_not_fill_pods(
    shards: int, per_pod: int, replicas: int
) -> None:
    stateful_set = _shard_set(_spec(shardsPerPod=per_pod), shards=shards)
    assert stateful_set["spec"]["replicas"] == replicas


def test_shard_stateful_set_passes_sharding_to_pods_when_rendered() -> None:
    worker = _container(_shard_set(_spec(shardsPerPod=3), generation=2, shards=10), "worker")
    env = _env(worker)
    assert env["SHOAL_TOTAL_SHARDS"]["value"] == "10"
    assert env["SHOAL_SHARDS_PER_POD"]["value"] == "3"
    assert env["SHOAL_GENERATION"]["value"] == "2"
    assert env["SHOAL_POD_NAME"] == {
        "name": "SHOAL_POD_NAME",
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
    }
    assert env["SHOAL_BOT_NAME"]["value"] == children.redis_namespace_for(_NS, _BOT)
    assert all(isinstance(entry.get("value", ""), str) for entry in env.values())


def test_shard_stateful_set_reads_default_secret_keys_when_the_spec_names_only_secrets() -> None:
    env = _env(_container(_shard_set(), "worker"))
    assert _secret(env, "SHOAL_TOKEN") == ("mybot-token", "token")
    assert _secret(env, "SHOAL_REDIS_URL") == ("mybot-redis", "url")
    assert _secret(env, "SHOAL_POSTGRES_DSN") == ("mybot-postgres", "dsn")


def test_shard_stateful_set_reads_the_specs_secrets_when_names_and_keys_are_set() -> None:
    raw = _raw_spec()
    raw["tokenSecretRef"] = {"name": "discord", "key": "bot-token"}
    raw["redis"] = {"urlSecretRef": {"name": "cache", "key": "redis.url"}}
    raw["postgres"] = {"dsnSecretRef": {"name": "db", "key": "DSN"}}
    stateful_set = _shard_set(parse_spec(raw))
    env = _env(_container(stateful_set, "worker"))
    assert _secret(env, "SHOAL_TOKEN") == ("discord", "bot-token")
    assert _secret(env, "SHOAL_REDIS_URL") == ("cache", "redis.url")
    assert _secret(env, "SHOAL_POSTGRES_DSN") == ("db", "DSN")
    migrate = _pod(stateful_set)["spec"]["initContainers"][0]
    assert _secret(_env(migrate), "SHOAL_POSTGRES_DSN") == ("db", "DSN")


def test_shard_stateful_set_never_inlines_secrets_when_rendered() -> None:
    env = _env(_container(_shard_set(), "worker"))
    for name in ("SHOAL_TOKEN", "SHOAL_REDIS_URL", "SHOAL_POSTGRES_DSN"):
        assert "value" not in env[name]


def test_shard_stateful_set_selects_its_template_when_rendered() -> None:
    stateful_set = _shard_set(generation=3)
    selector = stateful_set["spec"]["selector"]["matchLabels"]
    assert selector == _pod(stateful_set)["metadata"]["labels"]
    assert selector == children.generation_labels(_BOT, 3)
    assert selector["shoal.dev/generation"] == "3"
    assert selector["shoal.dev/bot"] == _BOT
    assert stateful_set["metadata"]["labels"] == selector


def test_shard_stateful_set_probes_health_on_the_http_port_when_rendered() -> None:
    worker = _container(_shard_set(), "worker")
    liveness, readiness = worker["livenessProbe"]["httpGet"], worker["readinessProbe"]["httpGet"]
    assert (liveness["path"], readiness["path"]) == ("/livez", "/readyz")
    assert liveness["port"] == readiness["port"] == "http"
    assert _port(worker, "http") == children.HTTP_PORT
    assert _env(worker)["SHOAL_HTTP_PORT"]["value"] == str(children.HTTP_PORT)


def test_shard_objects_have_distinct_names_and_selectors_when_generations_differ() -> None:
    old, new = _shard_set(generation=0), _shard_set(generation=1)
    assert old["metadata"]["name"] != new["metadata"]["name"]
    assert old["spec"]["serviceName"] != new["spec"]["serviceName"]
    assert old["spec"]["selector"] != new["spec"]["selector"]
    services = [children.shard_service(namespace=_NS, bot=_BOT, generation=g) for g in (0, 1)]
    budgets = [
        children.shard_disruption_budget(namespace=_NS, bot=_BOT, generation=g) for g in (0, 1)
    ]
    for pair in (services, budgets):
        names = {cast("Obj", obj)["metadata"]["name"] for obj in pair}
        assert names == {old["metadata"]["name"], new["metadata"]["name"]}


def test_shard_stateful_set_asks_prometheus_to_scrape_when_rendered() -> None:
    annotations = _pod(_shard_set())["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(children.HTTP_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_shard_stateful_set_adds_pod_annotations_when_the_spec_has_them() -> None:
    raw = _raw_spec()
    raw["workers"] = {"podAnnotations": {"example.com/team": "music"}}
    annotations = _pod(_shard_set(parse_spec(raw)))["metadata"]["annotations"]
    assert annotations["example.com/team"] == "music"
    assert annotations["prometheus.io/scrape"] == "true"


def test_shard_stateful_set_runs_as_non_root_when_rendered() -> None:
    pod_spec = _pod(_shard_set())["spec"]
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["automountServiceAccountToken"] is False
    for container in [*pod_spec["initContainers"], *pod_spec["containers"]]:
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] > 0
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}


def test_shard_service_is_headless_with_the_sets_selector_when_rendered() -> None:
    stateful_set = _shard_set(generation=4)
    service = cast("Obj", children.shard_service(namespace=_NS, bot=_BOT, generation=4))
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == stateful_set["spec"]["selector"]["matchLabels"]
    assert service["metadata"]["name"] == stateful_set["spec"]["serviceName"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_shard_disruption_budget_allows_one_pod_down_when_rendered() -> None:
    stateful_set = _shard_set(generation=4)
    budget = cast("Obj", children.shard_disruption_budget(namespace=_NS, bot=_BOT, generation=4))
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"] == stateful_set["spec"]["selector"]


def test_lavalink_stateful_set_probes_tcp_2333_when_rendered() -> None:
    container = _container(_lavalink_set(), "lavalink")
    assert _port(container, "lavalink") == 2333 == children.LAVALINK_PORT
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["tcpSocket"] == {"port": "lavalink"}


def test_lavalink_stateful_set_reads_the_password_secret_when_rendered() -> None:
    env = _env(_container(_lavalink_set(), "lavalink"))
    assert _secret(env, "LAVALINK_SERVER_PASSWORD") == ("mybot-lavalink", "password")
    assert "value" not in env["LAVALINK_SERVER_PASSWORD"]


def test_lavalink_stateful_set_mounts_the_config_map_when_rendered() -> None:
    stateful_set = _lavalink_set()
    config_map = cast("Obj", children.lavalink_config_map(namespace=_NS, bot=_BOT))
    volumes = {v["name"]: v for v in _pod(stateful_set)["spec"]["volumes"]}
    mounts = {m["name"]: m for m in _container(stateful_set, "lavalink")["volumeMounts"]}
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert mounts["config"]["subPath"] in config_map["data"]
    assert mounts["config"]["mountPath"].endswith("/application.yml")
    assert yaml.safe_load(config_map["data"]["application.yml"])["server"]["port"] == 2333


def test_lavalink_stateful_set_selects_its_template_when_rendered() -> None:
    stateful_set = _lavalink_set(nodes=3)
    assert stateful_set["spec"]["replicas"] == 3
    selector = stateful_set["spec"]["selector"]["matchLabels"]
    assert selector == _pod(stateful_set)["metadata"]["labels"]
    service = cast("Obj", children.lavalink_service(namespace=_NS, bot=_BOT))
    assert service["spec"]["selector"] == selector
    assert service["spec"]["clusterIP"] == "None"


def test_lavalink_stateful_set_raises_when_the_spec_has_no_password() -> None:
    raw = _raw_spec()
    raw["lavalink"] = {"enabled": False}
    with pytest.raises(ValueError, match="passwordSecretRef"):
        _lavalink_set(parse_spec(raw))


def test_lavalink_node_addresses_name_each_pod_when_nodes_run() -> None:
    addresses = children.lavalink_node_addresses(namespace=_NS, bot=_BOT, nodes=3)
    assert addresses == [
        f"mybot-lavalink-{i}.mybot-lavalink.bots.svc:{children.LAVALINK_PORT}" for i in range(3)
    ]


def test_lavalink_node_addresses_are_empty_when_no_nodes_run() -> None:
    assert children.lavalink_node_addresses(namespace=_NS, bot=_BOT, nodes=0) == []


_LONG_NS: Final = "n" * 63
_PAIRS: Final = (
    ("default", "mybot"),
    ("bots", "mybot"),
    ("default", "other"),
    ("a-b", "c"),
    ("a", "b-c"),
    ("team", "a.bot"),
    ("team-a", "bot"),
    ("team", "a-bot"),
    (_LONG_NS, "b" * 40),
    (_LONG_NS, "b" * 39 + "c"),
    (_LONG_NS[:-1], "b" * 40),
    ("x" * 30, "y" * 30),
    ("x" * 31, "y" * 29),
    ("bots", "a." + "b" * 250),
    ("bots", "a-" + "b" * 250),
)


@pytest.mark.parametrize(("namespace", "bot"), _PAIRS)
def test_redis_namespace_for_is_a_worker_accepted_dns_label_when_names_vary(
    namespace: str, bot: str
) -> None:
    name = children.redis_namespace_for(namespace, bot)
    assert len(name) <= 63
    assert _DNS_LABEL.fullmatch(name), name
    # The worker's own check of SHOAL_BOT_NAME.
    assert redis_settings({"SHOAL_REDIS_URL": "redis://x", "SHOAL_BOT_NAME": name}).namespace == (
        name
    )
    assert children.redis_namespace_for(namespace, bot) == name


def test_redis_namespace_for_is_distinct_when_namespace_bot_pairs_differ() -> None:
    names = {children.redis_namespace_for(namespace, bot) for namespace, bot in _PAIRS}
    assert len(names) == len(_PAIRS)


def test_redis_namespace_for_joins_the_names_when_they_are_short_and_plain() -> None:
    assert children.redis_namespace_for("default", "mybot") == "default-mybot"


def test_command_sync_job_name_is_stable_when_the_image_is_the_same() -> None:
    image = "ghcr.io/shoal-bot/shoal:0.1.0"
    assert children.command_sync_job_name(_BOT, image) == children.command_sync_job_name(
        _BOT, image
    )


def test_command_sync_job_name_differs_when_the_image_differs() -> None:
    images = ("ghcr.io/shoal-bot/shoal:0.1.0", "ghcr.io/shoal-bot/shoal:0.1.1", "shoal@sha256:ab")
    names = {children.command_sync_job_name(_BOT, image) for image in images}
    assert len(names) == len(images)
    for name in names:
        assert name.startswith(f"{_BOT}-")
        assert _DNS_LABEL.fullmatch(name)


def test_command_sync_job_runs_the_specs_image_when_rendered() -> None:
    spec = _spec()
    job = cast("Obj", children.command_sync_job(spec, namespace=_NS, bot=_BOT))
    assert job["metadata"]["name"] == children.command_sync_job_name(_BOT, spec.image)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == spec.image
    assert container["args"] == ["sync-commands"]
    assert _secret(_env(container), "SHOAL_TOKEN") == ("mybot-token", "token")


def _every_object(example: str) -> list[Obj]:
    spec = parse_spec(_raw_spec(example))
    built = [
        children.shard_stateful_set(spec, namespace=_NS, bot=_BOT, generation=0, shards=10),
        children.shard_service(namespace=_NS, bot=_BOT, generation=0),
        children.shard_disruption_budget(namespace=_NS, bot=_BOT, generation=0),
        children.command_sync_job(spec, namespace=_NS, bot=_BOT),
        children.lavalink_config_map(namespace=_NS, bot=_BOT),
        children.lavalink_stateful_set(spec, namespace=_NS, bot=_BOT, nodes=2),
        children.lavalink_service(namespace=_NS, bot=_BOT),
    ]
    return [cast("Obj", obj) for obj in built]


_EVERY_OBJECT: Final = [
    pytest.param(example, index, id=f"{example.removesuffix('.yaml')}-{obj['kind']}-{index}")
    for example in ("discordbot-minimal.yaml", "discordbot-full.yaml")
    for index, obj in enumerate(_every_object(example))
]


@pytest.mark.parametrize("version", _KUBE_VERSIONS)
@pytest.mark.parametrize(("example", "index"), _EVERY_OBJECT)
def test_children_are_valid_when_checked_strictly_against_kubernetes(
    example: str, index: int, version: str
) -> None:
    obj = _every_object(example)[index]
    validated = kubernetes_validate.validate(obj, version, strict=True)
    assert validated == ".".join(version.split(".")[:2])


def test_strict_validation_rejects_an_object_when_it_has_an_unknown_field() -> None:
    # Guards the test above: strict mode must catch a misspelt field in a container.
    stateful_set = copy.deepcopy(_shard_set())
    _container(stateful_set, "worker")["livenesProbe"] = {"tcpSocket": {"port": "http"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(stateful_set, _KUBE_VERSIONS[0], strict=True)
