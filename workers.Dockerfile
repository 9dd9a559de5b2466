# syntax=docker/dockerfile:1
# Celery workers, beat and Flower (one image; the command picks the role).
# Build: docker build -f workers.Dockerfile -t briefcast-workers .
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
# MagickWand for the image effects that use Wand (the render stage skips them without it).
# Bookworm's package name; the base is pinned to bookworm for it.
RUN apt-get update && apt-get install -y --no-install-recommends libmagickwand-6.q16-6 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 briefcast
COPY --from=build /venv /venv
WORKDIR /app
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 MEDIA_ROOT=/data/media
# /data/flower: Flower's persistent state (a volume in docker-compose.yml) must be writable.
RUN mkdir -p /data/media /data/flower && chown -R briefcast /data /app
USER briefcast
# The role is PID 1's command line: a worker must answer a control ping through the broker,
# beat must have written its schedule file in the last 4 minutes, Flower must answer
# /healthcheck (briefcast/healthcheck.py says why each is enough).
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 \
    CMD ["python", "-m", "briefcast.healthcheck"]
CMD ["celery", "-A", "briefcast.pipeline.celery_app", "worker", "-Q", "content,publishing,analytics,default", "-P", "threads", "-c", "16", "-l", "INFO"]
