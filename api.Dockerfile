# syntax=docker/dockerfile:1
# The API (FastAPI under uvicorn). Build: docker build -f api.Dockerfile -t briefcast-api .
# Production dependencies only (requirements.lock; the dev tools and the embedded servers are
# in requirements-dev.lock). BuildKit's cache mounts keep uv's downloads between builds.
FROM python:3.11-slim-bookworm AS build
# uv pinned to the Makefile's UV_VERSION (tests/unit/test_deploy_files.py checks).
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
# Bytecode compiled at build time (faster start); copies, since the cache is another mount.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
RUN uv venv --python /usr/local/bin/python3.11 /venv
# The lock alone first: this layer is rebuilt only when a pin changes.
COPY requirements.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip install --python /venv/bin/python -r requirements.lock
COPY pyproject.toml README.md ./
COPY briefcast ./briefcast
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip install --python /venv/bin/python --no-deps .

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 briefcast
COPY --from=build /venv /venv
COPY migrations /app/migrations
COPY alembic.ini /app/alembic.ini
WORKDIR /app
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 MEDIA_ROOT=/data/media
RUN mkdir -p /data/media && chown -R briefcast /data
USER briefcast
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]
# The same server command as `briefcast dev` (briefcast/stack.py: api_command): uvicorn's CLI
# through briefcast.api.serve (TCP_NODELAY and SO_REUSEPORT for several workers), no access
# log, and one worker process per CPU the container may use unless API_WORKERS says otherwise.
# Each worker keeps up to 20 PostgreSQL connections (briefcast/models/session.py).
ENV API_WORKERS=""
CMD ["sh", "-c", "exec python -m briefcast.api.serve briefcast.api.app:create_app --factory --host 0.0.0.0 --port 8000 --proxy-headers --no-access-log --workers \"${API_WORKERS:-$(nproc)}\""]
