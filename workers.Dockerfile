# Celery workers and beat (one image; the command picks the role).
# Build: docker build -f workers.Dockerfile -t briefcast-workers .
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN python -m venv /venv && /venv/bin/pip install uv
COPY requirements.lock pyproject.toml README.md ./
RUN /venv/bin/uv pip install --python /venv/bin/python -r requirements.lock
COPY briefcast ./briefcast
RUN /venv/bin/uv pip install --python /venv/bin/python --no-deps .

FROM python:3.11-slim
# MagickWand for the image effects that use Wand (the render stage skips them without it).
RUN apt-get update && apt-get install -y --no-install-recommends libmagickwand-6.q16-6 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 briefcast
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 MEDIA_ROOT=/data/media
RUN mkdir -p /data/media && chown -R briefcast /data
USER briefcast
CMD ["celery", "-A", "briefcast.pipeline.celery_app", "worker", "-Q", "content,publishing,analytics,default", "-P", "threads", "-c", "16", "-l", "INFO"]
