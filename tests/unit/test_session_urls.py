"""sync_url / async_url: swap the driver, keep everything else (including ?host= sockets)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from briefcast.models.session import async_url, sync_url

SOCKET_URL = "postgresql://briefcast:s3cret@/briefcast?host=/tmp/pg-sock/.s.PGSQL"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@db:5432/app",
        "postgres://u:p@db:5432/app",
        "postgresql+asyncpg://u:p@db:5432/app",
        "postgresql+psycopg://u:p@db:5432/app",
        "postgresql+psycopg2://u:p@db:5432/app",
    ],
)
def test_driver_rewritten(url: str) -> None:
    assert sync_url(url) == "postgresql+psycopg://u:p@db:5432/app"
    assert async_url(url) == "postgresql+asyncpg://u:p@db:5432/app"


def test_password_not_masked() -> None:
    assert ":p@" in sync_url("postgresql://u:p@db/app")
    assert "***" not in async_url("postgresql://u:p@db/app")


def test_round_trip_between_drivers() -> None:
    url = "postgresql://u:p@db:5432/app"
    assert sync_url(async_url(url)) == sync_url(url)
    assert async_url(sync_url(url)) == async_url(url)


@pytest.mark.parametrize("rewrite", [sync_url, async_url])
def test_unix_socket_host_query_kept(rewrite: object) -> None:
    assert callable(rewrite)
    out = rewrite(SOCKET_URL)
    parts = urlsplit(out)
    assert parts.path == "/briefcast"
    assert parse_qs(parts.query) == {"host": ["/tmp/pg-sock/.s.PGSQL"]}
    assert parts.username == "briefcast" and parts.password == "s3cret"
    assert parts.hostname is None


def test_socket_directory_query_kept_exactly() -> None:
    url = "postgresql://app@/db?host=/var/run/postgresql&sslmode=disable"
    out = sync_url(url)
    assert out.startswith("postgresql+psycopg://")
    assert parse_qs(urlsplit(out).query) == {
        "host": ["/var/run/postgresql"],
        "sslmode": ["disable"],
    }


def test_special_characters_in_password_survive() -> None:
    url = "postgresql://u:p%40ss%2Fw@db/app"
    out = async_url(url)
    assert urlsplit(out).password == "p%40ss%2Fw"


@pytest.mark.parametrize("rewrite", [sync_url, async_url])
def test_embedded_pgserver_socket_url_survives_reparse(rewrite: object) -> None:
    """The URL shape pgserver hands out: empty password, no host, socket dir in ?host=."""
    from sqlalchemy.engine import make_url

    assert callable(rewrite)
    socket_dir = "/work/main/.data/test services/pg"
    parsed = make_url(rewrite(f"postgresql://postgres:@/briefcast?host={socket_dir}"))
    assert parsed.host is None
    assert parsed.username == "postgres"
    assert parsed.database == "briefcast"
    assert dict(parsed.query) == {"host": socket_dir}
