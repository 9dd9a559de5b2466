"""Test services: DATABASE_URL / REDIS_URL when set, otherwise the embedded servers; with
BROKER_URL (amqp://…) Celery's messages, and the in-process worker, go through RabbitMQ.

The suite owns the database it is given: it resets the schema once per session and
truncates every table before each test that touches it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The suite posts far more briefs, uploads and reads from one address and one user than the
# product's rate limits allow; tests/integration/test_api_edge.py checks the real defaults.
TEST_LIMITS = {
    "RATE_LIMIT_CONTENT": "1000000/minute",
    "RATE_LIMIT_IMAGES": "1000000/minute",
    "RATE_LIMIT_PUBLISHING": "1000000/minute",
    "RATE_LIMIT_ANALYTICS": "1000000/minute",
    "BRIEFS_PER_ORG_PER_DAY": "100000000",
}


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from briefcast.embedded import EmbeddedServices

    embedded = None
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if database_url and redis_url:
        _refuse_unless_test_database(database_url)
    else:
        embedded = EmbeddedServices(ROOT / ".data" / "test-services").start()
        database_url, redis_url = embedded.database_url, embedded.redis_url
    # Settings read the environment; every process-wide cache is reset to match.
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ENVIRONMENT="test",
        MEDIA_ROOT=str(tmp_path_factory.mktemp("media")),
        **TEST_LIMITS,
    )
    _reset_caches()
    _reset_database(database_url)
    _flush_redis(redis_url)
    broker_url = _reset_broker_queues()
    try:
        yield {"database_url": database_url, "redis_url": redis_url, "broker_url": broker_url}
    finally:
        from briefcast.models.session import reset_worker_engine

        reset_worker_engine()
        if embedded is not None:
            # The in-process worker's chord results unsubscribe at interpreter exit, so Redis
            # must still be up then: it stops when this process ends.
            embedded.stop(keep_redis_until_exit=True)


def _refuse_unless_test_database(database_url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database or ""
    if "test" not in name:
        raise pytest.UsageError(
            f"the suite drops the schema of the database it is given; {name!r} does not look "
            "like a test database (its name must contain 'test')"
        )


def _reset_caches() -> None:
    from briefcast.models.session import reset_worker_engine
    from briefcast.pipeline.celery_app import app, configure
    from briefcast.pipeline.publish.registry import publisher_for
    from briefcast.settings import get_settings

    get_settings.cache_clear()
    publisher_for.cache_clear()
    reset_worker_engine()
    configure(app)


def _reset_database(database_url: str) -> None:
    import psycopg

    from briefcast.migrate import upgrade
    from briefcast.models.session import sync_url

    plain = sync_url(database_url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    upgrade(database_url)


def _flush_redis(redis_url: str, dbs: tuple[int, ...] = (0, 1, 2)) -> None:
    import redis

    for db in dbs:
        client = redis.Redis.from_url(f"{redis_url}/{db}")
        client.flushdb()
        client.close()


def _reset_broker_queues() -> str:
    """The broker's URL. With BROKER_URL (RabbitMQ), the suite owns its virtual host's queues,
    as it owns Redis db 1 otherwise: tasks a previous session left there would run in this one."""
    from briefcast.pipeline.broker import delete_queues, is_amqp
    from briefcast.pipeline.celery_app import app
    from briefcast.pipeline.queues import TaskQueue

    broker_url: str = app.conf.broker_url
    if is_amqp(broker_url):
        delete_queues(broker_url, [q.value for q in TaskQueue])
    return broker_url


@pytest.fixture
def db(services: dict[str, str]) -> Iterator[None]:
    """A clean set of tables for this test (committed data, so real workers can see it)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from briefcast.models import Base
    from briefcast.models.session import worker_engine

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    # The session-wide worker may still be finishing the previous test's tasks, and TRUNCATE
    # can deadlock with them; those tasks find their rows gone and stop, so try again.
    for attempt in range(5):
        try:
            with worker_engine().begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            break
        except DBAPIError:
            if attempt == 4:
                raise
            time.sleep(0.2)
    # The copy cache (Redis db 2) is state too: a cached brief would skip the model.
    _flush_redis(services["redis_url"], dbs=(2,))
    yield


class Live:
    """The live parts of a test stack: sandboxes, the API on a real port, an in-process worker."""

    def __init__(self, api_url: str, instagram_url: str, linkedin_url: str, openai_url: str):
        self.api_url = api_url
        self.instagram_url = instagram_url
        self.linkedin_url = linkedin_url
        self.openai_url = openai_url

    def sandbox_posts(self, platform: str) -> list[dict[str, object]]:
        import httpx

        base = self.instagram_url if platform == "instagram" else self.linkedin_url
        posts: list[dict[str, object]] = httpx.get(f"{base}/_sandbox/posts").json()
        return posts

    def reset_sandboxes(self) -> None:
        import httpx

        for base in (self.instagram_url, self.linkedin_url, self.openai_url):
            httpx.post(f"{base}/_sandbox/reset").raise_for_status()


def _serve_api() -> tuple[object, str]:
    import threading
    import time

    import uvicorn

    from briefcast.api.app import create_app
    from briefcast.embedded import free_port

    port = free_port()
    os.environ["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    _reset_caches()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("API server did not start")
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def live(services: dict[str, str]) -> Iterator[Live]:
    from celery._state import _set_task_join_will_block
    from celery.contrib.testing.worker import start_worker

    from briefcast.pipeline.celery_app import app
    from briefcast.pipeline.queues import TaskQueue
    from briefcast.sandbox import instagram, linkedin, openai_api
    from briefcast.sandbox.server import serve_in_thread

    ig = serve_in_thread(instagram.create_app())
    li = serve_in_thread(linkedin.create_app())
    oa = serve_in_thread(openai_api.create_app())
    # Copy goes through the production OpenAI adapter, pointed at the sandbox.
    os.environ.update(
        INSTAGRAM_GRAPH_BASE_URL=ig.base_url,
        LINKEDIN_API_BASE_URL=li.base_url,
        OPENAI_API_KEY=openai_api.SANDBOX_API_KEY,
        OPENAI_BASE_URL=f"{oa.base_url}/v1",
    )
    server, api_url = _serve_api()
    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        queues=[q.value for q in TaskQueue],
        shutdown_timeout=10,
    ):
        # As in a real worker process: nothing here waits on results, so sending a task
        # must not subscribe this process to its result (start_worker turns that back on).
        _set_task_join_will_block(True)
        yield Live(api_url, ig.base_url, li.base_url, oa.base_url)
    server.should_exit = True  # type: ignore[attr-defined]
    for sandbox in (ig, li, oa):
        sandbox.stop()


@pytest.fixture
def org_token(db: None) -> str:
    from briefcast.client import bootstrap_token

    return bootstrap_token("acme")


@pytest.fixture
def other_org_token(db: None) -> str:
    from briefcast.client import bootstrap_token

    return bootstrap_token("globex")
