"""Test services: DATABASE_URL / REDIS_URL when set, otherwise the embedded servers; with
BROKER_URL (amqp://…) Celery's messages, and the in-process worker, go through RabbitMQ.

The suite owns the database it is given: it resets the schema once per session and
truncates every table before each test that touches it.

Under `pytest -n N` (pytest-xdist) each worker owns services of its own: the database
`<name>_gwN` beside the one named (created when missing), and the Redis named for the first
worker but an embedded one for each other, since the product's Redis databases are fixed
numbers that two workers would flush under each other.
RabbitMQ's queues cannot be split that way: with BROKER_URL the suite refuses `-n`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.live import ROOT, TEST_LIMITS, ApiAs, Live

if TYPE_CHECKING:
    import uvicorn

_KEPT_UNTIL_EXIT: list[object] = []


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from briefcast.embedded import EmbeddedServices

    embedded = None
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, … under `pytest -n N`
    if database_url and redis_url:
        _refuse_unless_test_database(database_url)
        if worker:
            database_url = _database_of_its_own(database_url, worker)
            if worker != "gw0":
                embedded = EmbeddedServices(ROOT / ".data" / f"test-services-{worker}")
                redis_url = embedded.start(postgres=False).redis_url
    else:
        folder = f"test-services-{worker}" if worker else "test-services"
        embedded = EmbeddedServices(ROOT / ".data" / folder).start()
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
    broker_url = _reset_broker_queues(worker)
    try:
        yield {"database_url": database_url, "redis_url": redis_url, "broker_url": broker_url}
    finally:
        from briefcast.models.session import reset_worker_engine

        reset_worker_engine()
        if embedded is not None:
            # The in-process worker's chord results unsubscribe at interpreter exit, so Redis
            # must still be up then: it stops when this process ends, and its process handle
            # is kept until then (collected earlier, it would warn that Redis still runs).
            embedded.stop(keep_redis_until_exit=True)
            _KEPT_UNTIL_EXIT.append(embedded)


def _refuse_unless_test_database(database_url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database or ""
    if "test" not in name:
        raise pytest.UsageError(
            f"the suite drops the schema of the database it is given; {name!r} does not look "
            "like a test database (its name must contain 'test')"
        )


def _database_of_its_own(database_url: str, worker: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    from briefcast.models.session import sync_url

    url = make_url(sync_url(database_url))
    name = f"{url.database}_{worker}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


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


def _reset_broker_queues(worker: str) -> str:
    """The broker's URL. With BROKER_URL (RabbitMQ), the suite owns its virtual host's queues,
    as it owns Redis db 1 otherwise: tasks a previous session left there would run in this one."""
    from briefcast.pipeline.broker import delete_queues, is_amqp
    from briefcast.pipeline.celery_app import app
    from briefcast.pipeline.queues import TaskQueue

    broker_url: str = app.conf.broker_url
    if is_amqp(broker_url):
        if worker:
            raise pytest.UsageError("with BROKER_URL the workers of -n would share its queues")
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


def _serve_api() -> tuple[uvicorn.Server, str]:
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
    from celery._state import _set_task_join_will_block  # type: ignore[attr-defined]  # private, unstubbed
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_prerun

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
    # Each worker thread has a result backend of its own (Celery keeps it per thread), and a
    # canvas subscribes it to the results of its group.
    consumers: set[Any] = set()  # celery.backends.redis.ResultConsumer, unstubbed

    def remember_consumer(**_: object) -> None:
        consumers.add(app.backend.result_consumer)  # type: ignore[attr-defined]  # Redis's

    task_prerun.connect(remember_consumer, weak=False)
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
    task_prerun.disconnect(remember_consumer)
    server.should_exit = True
    for sandbox in (ig, li, oa):
        sandbox.stop()
    # Those results go at the interpreter's last collection, each then reconnecting to
    # unsubscribe, a socket nobody closes: closing a consumer's connection ends all of its
    # subscriptions at once, and leaves none to unsubscribe.
    for consumer in consumers:
        consumer.subscribed_to.clear()
        consumer.stop()


@pytest.fixture
def client(live: Live, org_token: str) -> Iterator[httpx.Client]:
    """The API as the test organization, with fresh sandboxes."""
    live.reset_sandboxes()
    with live.api_client(org_token) as http:
        yield http


@pytest.fixture
def api_as(live: Live) -> Iterator[ApiAs]:
    """Opens a client of the API as the holder of a token; every one is closed at teardown."""
    with ExitStack() as opened:
        yield lambda token: opened.enter_context(live.api_client(token))


@pytest.fixture
def org_token(db: None) -> str:
    from briefcast.client import bootstrap_token

    return bootstrap_token("acme")


@pytest.fixture
def other_org_token(db: None) -> str:
    from briefcast.client import bootstrap_token

    return bootstrap_token("globex")
