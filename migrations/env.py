"""Alembic environment: migrations run over the workers' sync (psycopg) URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from briefcast.models import Base
from briefcast.models.session import sync_url
from briefcast.settings import get_settings

target_metadata = Base.metadata


def _url() -> str:
    url = context.config.attributes.get("database_url") or get_settings().database_url
    if url is None:
        raise RuntimeError("set DATABASE_URL, or run through `briefcast migrate` (embedded)")
    return sync_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
