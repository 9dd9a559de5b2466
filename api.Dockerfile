# The API (FastAPI under uvicorn). Build: docker build -f api.Dockerfile -t briefcast-api .
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN python -m venv /venv && /venv/bin/pip install uv
COPY requirements.lock pyproject.toml README.md ./
RUN /venv/bin/uv pip install --python /venv/bin/python -r requirements.lock
COPY briefcast ./briefcast
COPY migrations ./migrations
COPY alembic.ini ./
RUN /venv/bin/uv pip install --python /venv/bin/python --no-deps .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 briefcast
COPY --from=build /venv /venv
COPY --from=build /app/migrations /app/migrations
COPY --from=build /app/alembic.ini /app/alembic.ini
WORKDIR /app
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 MEDIA_ROOT=/data/media
RUN mkdir -p /data/media && chown -R briefcast /data
USER briefcast
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
# The same server command as `briefcast dev` (briefcast/stack.py: api_command): uvicorn's CLI
# through briefcast.api.serve (TCP_NODELAY and SO_REUSEPORT for several workers), no access
# log, and one worker process per CPU the container may use unless API_WORKERS says otherwise.
# Each worker keeps up to 20 PostgreSQL connections (briefcast/models/session.py).
ENV API_WORKERS=""
CMD ["sh", "-c", "exec python -m briefcast.api.serve briefcast.api.app:create_app --factory --host 0.0.0.0 --port 8000 --proxy-headers --no-access-log --workers \"${API_WORKERS:-$(nproc)}\""]
