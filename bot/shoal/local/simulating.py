"""The Discord simulator of a local run: its own process, and its ``/_sim`` control API.

Owns starting ``shoal sim discord`` as a child process (never in this process: the fleet's
load must not share a core with the simulator's event loop), waiting for the URL it writes
once listening, stopping it, and the few control calls a local run makes: the bot's token
and guild count, statistics, live sessions, new guilds and the load generator. Does not import the
simulator (an import-linter contract keeps ``shoal`` and ``shoal_sim`` apart) nor decide
anything from what it reads (:mod:`shoal.local.status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from shoal.config import DEFAULT_INTENTS
from shoal.local.errors import LocalUpError
from shoal.local.plans import is_load_renewal_due
from shoal.local.spawning import child_environment, log_tail, start_child, stop_child

if TYPE_CHECKING:
    from pathlib import Path

    from shoal.local.options import LocalOptions

__all__ = [
    "LoadDriver",
    "LoadRun",
    "SimulatorControl",
    "SimulatorProcess",
    "simulator_argv",
    "start_simulator",
]

_URL_TIMEOUT_S: Final = 60.0  # 20,000 guilds are ready in about a second; room for a slow CI
_PRIVILEGED_INTENTS: Final = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, content
_URL_POLL_S: Final = 0.05  # how often to look for the URL file while the simulator starts


@dataclasses.dataclass(frozen=True, slots=True)
class SimulatorProcess:
    """A simulator process that is listening."""

    process: asyncio.subprocess.Process
    """The running ``shoal sim discord``."""
    rest_url: str
    """Its REST base URL, ending in ``/api/v10``."""
    log_path: Path
    """Its output."""

    @property
    def base_url(self) -> str:
        """The URL the control API (``/_sim``) lives under."""
        return self.rest_url.removesuffix("/api/v10")

    @property
    def is_running(self) -> bool:
        """Whether the process is still running."""
        return self.process.returncode is None

    async def stop(self) -> int:
        """Stop it as a terminal's Ctrl-C would; return its exit status."""
        return await stop_child(self.process, signal.SIGINT)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoadRun:
    """One run of the simulator's load generator."""

    messages_per_s: float
    """User messages per second."""
    interactions_per_s: float
    """Slash commands per second."""
    duration_s: float
    """How long the run lasts."""
    commands: tuple[str, ...]
    """Slash command names, in turn."""


def simulator_argv(options: LocalOptions, url_file: Path) -> list[str]:
    """Return the simulator's command line for ``options``."""
    argv = [
        *options.simulator_command,
        "--guilds",
        str(options.guilds),
        "--max-concurrency",
        str(options.max_concurrency),
        "--identify-window",
        str(options.identify_window_s),
        "--members-per-guild",
        str(options.members_per_guild),
        "--heartbeat-interval",
        str(options.heartbeat_interval_ms),
        # The simulated application is approved for what the worker asks by default, as a
        # bot owner enables "Server Members Intent" in the developer portal.
        "--privileged-intents",
        str(DEFAULT_INTENTS & _PRIVILEGED_INTENTS),
        "--port",
        str(options.sim_port),
        "--url-file",
        str(url_file),
        "--log-level",
        "WARNING",
    ]
    if options.token is not None:
        argv += ["--token", options.token]
    return argv


async def start_simulator(options: LocalOptions, workdir: Path) -> SimulatorProcess:
    """Start the simulator in a child process and wait until it listens.

    Raises:
        LocalUpError: when it cannot be started, exits, or does not listen in time.
    """
    url_file = workdir / "simulator.url"
    log_path = workdir / "simulator.log"
    argv = simulator_argv(options, url_file)
    try:
        process = await start_child(argv, log_path=log_path, env=child_environment())
    except OSError as exc:
        raise LocalUpError(f"cannot start the simulator ({argv[0]}): {exc}") from exc
    try:
        async with asyncio.timeout(_URL_TIMEOUT_S):
            rest_url = await _written_url(url_file, process, log_path)
    except TimeoutError:
        await stop_child(process, signal.SIGKILL)
        raise LocalUpError(
            f"the simulator did not listen within {_URL_TIMEOUT_S:.0f} s; its log:\n"
            f"{log_tail(log_path)}"
        ) from None
    return SimulatorProcess(process, rest_url, log_path)


async def _written_url(url_file: Path, process: asyncio.subprocess.Process, log: Path) -> str:
    while True:
        if process.returncode is not None:
            raise LocalUpError(
                f"the simulator exited with status {process.returncode}; its log:\n{log_tail(log)}"
            )
        if (url := _whole_line(url_file)) is not None:
            return url
        await asyncio.sleep(_URL_POLL_S)


def _whole_line(path: Path) -> str | None:
    # A few bytes from the page cache: not worth a thread.
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text.strip() if text.endswith("\n") else None  # None while being written


class SimulatorControl:
    """A client of the simulator's control API (``/_sim``)."""

    __slots__ = ("_base", "_http")

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        """Talk to the simulator at ``base_url`` through ``http``."""
        self._http = http
        self._base = f"{base_url}/_sim"

    async def _get(self, path: str, **query: str) -> Any:  # noqa: ANN401 - JSON of the control API
        async with self._http.get(f"{self._base}{path}", params=query) as response:
            response.raise_for_status()
            return await response.json()

    async def _send(self, method: str, path: str, body: dict[str, Any]) -> Any:  # noqa: ANN401 - JSON
        async with self._http.request(method, f"{self._base}{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def bot(self) -> tuple[str, int]:
        """Return the first application's token and guild count (the bot being run)."""
        info = await self._get("/info")
        application = info["applications"][0]
        return application["token"], int(application["guilds"])

    async def interaction_deadline_s(self) -> float:
        """Return the seconds the simulator gives an interaction before it counts unanswered."""
        info = await self._get("/info")
        return float(info["settings"]["interaction_deadline_s"])

    async def add_guilds(self, count: int, *, members: int) -> None:
        """Have the bot join ``count`` new guilds of ``members`` members (``POST /_sim/guilds``)."""
        body = {"count": count, "members": members}
        async with self._http.post(f"{self._base}/guilds", json=body) as response:
            response.raise_for_status()

    async def stats(self) -> dict[str, Any]:
        """Return ``GET /_sim/stats``."""
        stats: dict[str, Any] = await self._get("/stats")
        return stats

    async def sessions(self) -> list[dict[str, Any]]:
        """Return ``GET /_sim/sessions``: live sessions, connected or not."""
        sessions: list[dict[str, Any]] = await self._get("/sessions")
        return sessions

    async def guild_ids(self) -> list[int]:
        """Return the bot's guild ids, lowest first (``GET /_sim/guilds``)."""
        listed = await self._get("/guilds")
        return sorted(int(guild_id) for guild_id in listed["ids"])

    async def guild_state(self, guild_id: int) -> dict[str, Any]:
        """Return ``GET /_sim/guilds/{guild_id}``: roles, channels, members."""
        state: dict[str, Any] = await self._get(f"/guilds/{guild_id}")
        return state

    async def screen_members(self, guild_id: int) -> None:
        """Turn membership screening on in ``guild_id`` (new members join pending)."""
        await self._send("PATCH", f"/guilds/{guild_id}", {"verification_gate": True})

    async def create_role(self, guild_id: int, name: str, *, position: int = 1) -> int:
        """Create a role without permissions at ``position``, as the owner would; return its id."""
        body = {"name": name, "permissions": 0, "position": position}
        created = await self._send("POST", f"/guilds/{guild_id}/roles", body)
        return int(created["id"])

    async def add_member(self, guild_id: int, *, is_pending: bool) -> int:
        """Have a new user join ``guild_id``; return the user's id."""
        joined = await self._send("POST", f"/guilds/{guild_id}/members", {"pending": is_pending})
        return int(joined["user"]["id"])

    async def complete_screening(self, guild_id: int, user_id: int) -> None:
        """Have a pending member complete membership screening."""
        await self._send("POST", f"/guilds/{guild_id}/members/{user_id}/screening", {})

    async def member_roles(self, guild_id: int, user_id: int) -> set[int]:
        """Return the roles member ``user_id`` holds now."""
        state = await self._get(f"/guilds/{guild_id}/members/{user_id}")
        return {int(role_id) for role_id in state.get("roles") or ()}

    async def inject(self, body: dict[str, Any]) -> tuple[int, int]:
        """Inject an interaction (``POST /_sim/interactions``); return its id and reach."""
        injected = await self._send("POST", "/interactions", body)
        return int(injected["id"]), int(injected["sessions_reached"])

    async def interaction(self, interaction_id: int) -> dict[str, Any] | None:
        """Return ``GET /_sim/interactions/{id}`` (None once it expired)."""
        async with self._http.get(f"{self._base}/interactions/{interaction_id}") as response:
            if response.status == 404:  # noqa: PLR2004 - HTTP Not Found
                return None
            response.raise_for_status()
            state: dict[str, Any] = await response.json()
            return state

    async def bot_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Return the bot's latest messages in ``channel_id``, oldest first."""
        found: list[dict[str, Any]] = await self._get(
            "/messages", channel_id=str(channel_id), author="bot"
        )
        return found

    async def start_load(self, run: LoadRun) -> None:
        """Start a load generator run (earlier runs go on until their own end)."""
        body = {
            "messages_per_s": run.messages_per_s,
            "interactions_per_s": run.interactions_per_s,
            "duration_s": run.duration_s,
            "commands": list(run.commands),
        }
        async with self._http.post(f"{self._base}/load", json=body) as response:
            response.raise_for_status()

    async def stop_load(self) -> None:
        """Stop every load generator run."""
        async with self._http.delete(f"{self._base}/load") as response:
            response.raise_for_status()


class LoadDriver:
    """Keeps the simulator's load generator running for a whole local run."""

    __slots__ = ("_control", "_run", "_started_at_s")

    def __init__(self, control: SimulatorControl, run: LoadRun) -> None:
        """Drive ``run``, renewed before it ends, through ``control``."""
        self._control = control
        self._run = run
        self._started_at_s: float | None = None

    @property
    def run(self) -> LoadRun:
        """What each run generates."""
        return self._run

    async def keep_running(self, now_s: float) -> None:
        """Start the next run when the last one is ending (a failed start is tried again)."""
        if is_load_renewal_due(self._started_at_s, now_s, self._run.duration_s):
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await self._control.start_load(self._run)
                self._started_at_s = now_s

    async def stop(self) -> None:
        """Stop the generator (nothing happens when the simulator is gone)."""
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            await self._control.stop_load()
