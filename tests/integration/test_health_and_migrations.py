"""Health reports a dead dependency; the migrations go all the way down and up again."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from briefcast.embedded import free_port
from briefcast.migrate import downgrade, upgrade
from briefcast.models import Base
from briefcast.models.session import sync_url
from briefcast.settings import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_down(services: dict[str, str]) -> Iterator[None]:
    saved = os.environ["REDIS_URL"]
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}"  # nothing listens there
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ["REDIS_URL"] = saved
        get_settings.cache_clear()


def test_health_is_503_when_redis_is_down(redis_down: None) -> None:
    from briefcast.api.app import create_app

    with TestClient(create_app()) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["postgresql"] == "ok"
    assert body["checks"]["redis"].startswith("down")


@pytest.fixture
def scratch_database(services: dict[str, str]) -> Iterator[str]:
    """A database of its own, so going down to base leaves the other tests' schema alone."""
    url = make_url(sync_url(services["database_url"]))
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"{url.database}_migrations_check"  # each test database its own
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_head_and_downgrade_base(scratch_database: str) -> None:
    engine = create_engine(scratch_database)
    try:
        upgrade(scratch_database)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        downgrade(scratch_database)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(scratch_database)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        # The models and the migrations describe the same schema.
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()
