# syntax=docker/dockerfile:1
# The Shoal image: one image for the shard worker, the operator, migrations and command sync.
# Pod specs choose the command with `args:` (worker, operator, migrate, sync-commands); the
# image runs as the numeric non-root user 10001 that those pod specs ask for.
#
#   docker buildx build -t ghcr.io/shoal-bot/shoal:dev .
#
# Base images are pinned by tag and by the digest of their multi-architecture index. To move
# to a newer patch, resolve the new digest and update both together:
#   docker buildx imagetools inspect python:3.11.14-slim-bookworm --format '{{json .Manifest.Digest}}'
#   docker buildx imagetools inspect ghcr.io/astral-sh/uv:0.9.5 --format '{{json .Manifest.Digest}}'
# The uv version is the one scripts/bootstrap.sh pins (uv.lock was written by it).

FROM ghcr.io/astral-sh/uv:0.9.5@sha256:f459f6f73a8c4ef5d69f4e6fbbdb8af751d6fa40ec34b39a1ab469acd6e289b7 AS uv

# --- Build: resolve nothing, install exactly uv.lock into /app/.venv ---
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS build

COPY --from=uv /uv /usr/local/bin/uv

# Bytecode compiled at build time (the runtime's root filesystem is read-only); copies, not
# hard links, out of the cache mount; the base image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first, from the lock file alone: this layer is rebuilt only when
# pyproject.toml or uv.lock change, not on every source change.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    uv sync --locked --no-dev --no-editable --no-install-project

# Then the project itself, installed as a wheel (not editable), so the runtime stage needs
# only the virtual environment, not the source tree.
COPY pyproject.toml uv.lock README.md ./
COPY bot ./bot
COPY operator ./operator
COPY loadtests ./loadtests
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

# --- Runtime: the base image plus the virtual environment, nothing else ---
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS runtime

LABEL org.opencontainers.image.title="shoal" \
      org.opencontainers.image.description="Run one Discord bot at any scale on Kubernetes: shard workers, an operator and protocol-level simulators." \
      org.opencontainers.image.source="https://github.com/shoal-bot/shoal" \
      org.opencontainers.image.licenses="Apache-2.0"

# A passwd entry for the numeric user, so that libraries asking for the user's name or home
# directory get an answer; the home directory does not exist (nothing may be written there).
RUN groupadd --system --gid 10001 shoal \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin shoal

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Owned by root and not writable by the app user: the code cannot be changed at run time.
COPY --from=build /app/.venv /app/.venv

WORKDIR /app

# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

# 8080: the worker's /livez, /readyz and /metrics. 9090 and 8081: the operator's /metrics
# and /healthz. No HEALTHCHECK: Kubernetes probes those endpoints.
EXPOSE 8080 9090 8081

ENTRYPOINT ["shoal"]
CMD ["worker"]
