#!/usr/bin/env bash
# Make this checkout ready to test and run, on Debian 12 with Python 3.11.
#
# Owns: the pinned uv in .venv-tools/, the project environment in .venv/ (uv sync --locked),
# and the presence of the Redis and PostgreSQL server binaries the tests start on their own.
# Does not: start any server, or touch services that the system runs.
#
# Idempotent and fast when nothing is missing. Called by scripts/test and scripts/run-local;
# run it directly after pulling to refresh the environment. As root it installs what is
# missing with apt-get; otherwise it names the exact command to run and fails.
# Run it (bash scripts/bootstrap.sh); do not source it.
set -euo pipefail

readonly UV_VERSION="0.9.5"  # pinned: uv.lock was written by it and CI must not drift
readonly MIN_PYTHON="3.11"   # the project's requires-python
readonly APT_SERVER_PACKAGES="redis-server postgresql"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly TOOLS_DIR="$ROOT/.venv-tools"
readonly UV="$TOOLS_DIR/bin/uv"

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
is_root() { [[ "$(id -u)" == 0 ]]; }

apt_install() {
    # Packages are installed without starting their services: the tests start their own
    # servers on free loopback ports and must never depend on system ones.
    local policy=/usr/sbin/policy-rc.d added_policy=""
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\n# Temporary, written by shoal scripts/bootstrap.sh.\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy="$policy"
        trap 'rm -f "$added_policy"' EXIT
    fi
    say "installing with apt-get: $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2
    if [[ -n "$added_policy" ]]; then
        rm -f "$added_policy"
        trap - EXIT
    fi
}

need_root_for() {
    local packages="$1" why="$2"
    die "$why. Run this as root, then run the command again:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends $packages"
}

find_python() {
    command -v python3 >/dev/null 2>&1 || {
        is_root && apt_install python3 python3-venv
        command -v python3 >/dev/null 2>&1 || need_root_for "python3 python3-venv" "python3 is missing"
    }
    python3 -c "import sys; sys.exit(sys.version_info < (${MIN_PYTHON/./, }))" \
        || die "python3 is $(python3 -V 2>&1); Shoal needs Python ${MIN_PYTHON} or newer"
}

make_tools_venv() {
    rm -rf "$TOOLS_DIR"
    python3 -m venv "$TOOLS_DIR" >/dev/null 2>&1
}

ensure_uv() {
    if [[ -x "$UV" && "$("$UV" --version 2>/dev/null)" =~ ^uv\ ${UV_VERSION//./\\.}( |$) ]]; then
        return
    fi
    find_python
    say "installing uv ${UV_VERSION} into .venv-tools/"
    if ! make_tools_venv; then
        # Debian splits venv/ensurepip out of python3 into python3-venv.
        if is_root; then
            apt_install python3-venv
            make_tools_venv || die "python3 -m venv still fails after installing python3-venv"
        else
            need_root_for python3-venv "python3 -m venv does not work (python3-venv is missing)"
        fi
    fi
    printf '*\n' >"$TOOLS_DIR/.gitignore"  # like uv's .venv: the folder ignores itself
    "$TOOLS_DIR/bin/python" -m pip install -qq --disable-pip-version-check \
        "uv==${UV_VERSION}" >&2
    "$UV" --version >/dev/null || die "uv ${UV_VERSION} did not install into .venv-tools/"
}

sync_environment() {
    [[ -d "$ROOT/.venv" ]] || say "creating .venv/ from uv.lock"
    # --locked: fail rather than rewrite uv.lock when it disagrees with pyproject.toml.
    # No Python downloads: the machine's own Python 3.11 is the supported one.
    (cd "$ROOT" && UV_PYTHON_DOWNLOADS=never "$UV" sync --locked --quiet) \
        || die "uv sync --locked failed (if pyproject.toml changed, run: .venv-tools/bin/uv lock)"
}

has_redis() {
    command -v redis-server >/dev/null 2>&1
}

has_postgres() {
    # Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<version>/bin.
    local dir
    if command -v initdb && command -v postgres && command -v pg_ctl; then
        return 0
    fi >/dev/null 2>&1
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/initdb" && -x "$dir/postgres" && -x "$dir/pg_ctl" ]]; then
            return 0
        fi
    done
    return 1
}

ensure_servers() {
    local missing=()
    has_redis || missing+=(redis-server)
    has_postgres || missing+=(postgresql)
    ((${#missing[@]} == 0)) && return
    if is_root; then
        apt_install "${missing[@]}"
        has_redis || die "redis-server is still missing after apt-get install"
        has_postgres || die "PostgreSQL server binaries are still missing after apt-get install"
    else
        need_root_for "$APT_SERVER_PACKAGES" "missing server binaries: ${missing[*]}"
    fi
}

main() {
    # One bootstrap at a time per checkout (scripts/test and scripts/run-local may race).
    if command -v flock >/dev/null 2>&1; then
        exec 9<"${BASH_SOURCE[0]}"
        flock 9
    fi
    ensure_uv
    sync_environment
    ensure_servers
}

main "$@"
