"""The Dockerfile: pinned, multi-stage, non-root, and in step with the pod specs that run it.

No container engine runs here, so these tests read the Dockerfile's text: every base image
pinned by patch tag and digest, uv at the version scripts/bootstrap.sh pins, ``uv sync
--locked``, a numeric non-root user equal to the one the operator's and the chart's pod specs
ask for, ``shoal`` as the entrypoint, and every ``args`` those pod specs pass a real ``shoal``
command. The image itself is built (and hadolint run) outside the unit tests.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from shoal import cli
from shoal_operator import children
from shoal_operator.spec import parse_spec
from tests.unit.chart import rendering

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

_ROOT: Final = Path(__file__).resolve().parents[2]
_DOCKERFILE: Final = _ROOT / "Dockerfile"
_DOCKERIGNORE: Final = _ROOT / ".dockerignore"
_BOOTSTRAP: Final = _ROOT / "scripts" / "bootstrap.sh"
_VALUES: Final = _ROOT / "charts" / "shoal" / "values.yaml"
_EXAMPLE: Final = _ROOT / "examples" / "discordbot-minimal.yaml"
#: image:<major>.<minor>.<patch>[-variant]@sha256:<64 hex>
_PINNED: Final = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*@sha256:[0-9a-f]{64}$")


@dataclasses.dataclass(frozen=True, slots=True)
class _Instruction:
    keyword: str
    """Upper-case, e.g. ``RUN``."""
    arguments: str
    """Everything after the keyword, continuation lines joined."""


def _instructions(text: str) -> list[_Instruction]:
    """Parse a Dockerfile into instructions: comments dropped, continued lines joined."""
    instructions: list[_Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, arguments = pending.partition(" ")
        instructions.append(_Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def _stages() -> list[list[_Instruction]]:
    """Return each build stage's instructions, its FROM first."""
    stages: list[list[_Instruction]] = []
    for instruction in _instructions(_DOCKERFILE.read_text(encoding="utf-8")):
        if instruction.keyword == "FROM":
            stages.append([])
        assert stages, f"{instruction.keyword} before the first FROM"
        stages[-1].append(instruction)
    return stages


def _final() -> list[_Instruction]:
    return _stages()[-1]


def _all(keyword: str, stage: list[_Instruction] | None = None) -> list[str]:
    instructions = stage if stage is not None else [i for s in _stages() for i in s]
    return [i.arguments for i in instructions if i.keyword == keyword]


def _image_of(from_arguments: str) -> str:
    words = [word for word in from_arguments.split() if not word.startswith("--")]
    return words[0]


def _stage_names() -> set[str]:
    names = set()
    for stage in _stages():
        words = stage[0].arguments.split()
        if len(words) >= 3 and words[-2].upper() == "AS":
            names.add(words[-1])
    return names


def _shoal_pod_containers() -> Iterator[dict[str, Any]]:
    """Yield every container running the Shoal image: the operator's children and the chart's."""
    spec = parse_spec(yaml.safe_load(_EXAMPLE.read_text(encoding="utf-8"))["spec"])
    built = [
        children.shard_stateful_set(spec, namespace="bots", bot="mybot", generation=1, shards=4),
        children.command_sync_job(spec, namespace="bots", bot="mybot"),
    ]
    repository = yaml.safe_load(_VALUES.read_text(encoding="utf-8"))["image"]["repository"]
    variants = [None, *(rendering.load_values(path) for path in rendering.CI_VALUES)]
    rendered = [
        obj.body
        for values in variants
        for obj in rendering.render(values)
        if "template" in obj.body.get("spec", {})
    ]
    for obj in [*built, *rendered]:
        pod: dict[str, Any] = obj["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            if str(container["image"]).startswith((spec.image.split(":")[0], repository)):
                yield {**container, "podSecurityContext": pod.get("securityContext", {})}


def _shoal_commands(capsys: pytest.CaptureFixture[str]) -> set[str]:
    """Return the commands ``shoal --help`` lists, e.g. ``worker`` and ``sim discord``."""
    assert cli.main(["--help"]) == 0
    usage = capsys.readouterr().out
    listing = usage.partition("commands:")[2].split("\n\n")[0]
    return {line.strip().split("  ")[0] for line in listing.splitlines() if line.strip()}


def test_dockerfile_is_multi_stage_when_built() -> None:
    stages = _stages()
    assert len(stages) >= 3, "uv, build and runtime stages expected"
    assert _image_of(stages[-1][0].arguments) == _image_of(
        next(s for s in stages if " AS build" in s[0].arguments)[0].arguments
    ), "the runtime stage must use the build stage's Python: the venv links to its interpreter"


def test_dockerfile_pins_every_base_image_by_patch_tag_and_digest() -> None:
    images = [_image_of(arguments) for arguments in _all("FROM")]
    copied = [
        word.removeprefix("--from=")
        for arguments in _all("COPY")
        for word in arguments.split()
        if word.startswith("--from=")
    ]
    external = [image for image in copied if image not in _stage_names()]
    for image in images + external:
        assert _PINNED.match(image), f"{image}: pin it as <image>:<x.y.z>@sha256:<digest>"
        assert ":latest" not in image


def test_dockerfile_uses_the_uv_version_bootstrap_pins() -> None:
    match = re.search(r'^readonly UV_VERSION="([^"]+)"', _BOOTSTRAP.read_text(), re.MULTILINE)
    assert match, "scripts/bootstrap.sh no longer pins UV_VERSION"
    uv_images = [_image_of(a) for a in _all("FROM") if "astral-sh/uv:" in a]
    assert len(uv_images) == 1
    assert uv_images[0].split("@")[0] == f"ghcr.io/astral-sh/uv:{match[1]}"


def test_dockerfile_installs_exactly_the_lock_file_without_dev_dependencies() -> None:
    syncs = [arguments for arguments in _all("RUN") if "uv sync" in arguments]
    assert syncs
    for arguments in syncs:
        for flag in ("--locked", "--no-dev", "--no-editable"):
            assert flag in arguments, f"uv sync without {flag}: {arguments}"
    environment = " ".join(_all("ENV"))
    for setting in ("UV_COMPILE_BYTECODE=1", "UV_LINK_MODE=copy", "UV_PYTHON_DOWNLOADS=never"):
        assert setting in environment


def test_dockerfile_runtime_copies_only_the_virtual_environment() -> None:
    copies = _all("COPY", _final())
    assert copies == ["--from=build /app/.venv /app/.venv"]
    assert "/app/.venv/bin" in " ".join(_all("ENV", _final()))


def test_dockerfile_runs_as_the_numeric_user_the_pod_specs_ask_for() -> None:
    users = _all("USER", _final())
    assert len(users) == 1
    assert re.fullmatch(r"\d+:\d+", users[0]), "numeric, so runAsNonRoot can verify it"
    uid, gid = (int(part) for part in users[0].split(":"))
    assert uid != 0
    assert gid != 0
    containers = list(_shoal_pod_containers())
    assert containers
    for container in containers:
        context = {**container["podSecurityContext"], **container.get("securityContext", {})}
        assert context.get("runAsUser", uid) == uid, container["name"]
        assert context.get("runAsNonRoot") is True, container["name"]


def test_dockerfile_has_no_healthcheck_because_kubernetes_probes() -> None:
    assert not _all("HEALTHCHECK")


def test_dockerfile_entrypoint_is_shoal_with_worker_by_default() -> None:
    assert [json.loads(a) for a in _all("ENTRYPOINT", _final())] == [["shoal"]]
    assert [json.loads(a) for a in _all("CMD", _final())] == [["worker"]]


def test_dockerfile_exposes_the_worker_and_operator_ports() -> None:
    values = yaml.safe_load(_VALUES.read_text(encoding="utf-8"))["operator"]
    exposed = {int(port) for arguments in _all("EXPOSE", _final()) for port in arguments.split()}
    assert exposed == {children.HTTP_PORT, values["metricsPort"], values["healthPort"]}


def test_pod_spec_args_are_shoal_commands_when_the_image_runs_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands = _shoal_commands(capsys)
    assert {"worker", "operator", "migrate", "sync-commands"} <= commands
    used = {" ".join(c.get("args", ["worker"])) for c in _shoal_pod_containers()}
    assert used >= {"worker", "migrate", "sync-commands", "operator"}
    assert used <= commands


def test_dockerignore_keeps_local_state_out_and_what_the_build_copies_in() -> None:
    ignored = {
        line.strip()
        for line in _DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".venv-tools"} <= ignored
    sources = {
        word.rstrip("/").removeprefix("./")
        for arguments in _all("COPY")
        if "--from=" not in arguments
        for word in arguments.split()[:-1]
    }
    sources |= {
        match
        for arguments in _all("RUN")
        for match in re.findall(r"type=bind,source=([^,\s]+)", arguments)
    }
    assert sources >= {"pyproject.toml", "uv.lock", "bot", "operator", "loadtests"}
    assert not sources & ignored
