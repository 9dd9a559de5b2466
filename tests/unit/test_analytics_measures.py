"""The stored metric names agree everywhere they are spelled out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from briefcast.models.posts import LATEST_VALUE_NAMES, Post
from briefcast.models.repositories.analytics import STORED_NAMES


def test_every_stored_metric_name_has_a_latest_column_on_the_post() -> None:
    assert set(LATEST_VALUE_NAMES) == set(STORED_NAMES)
    columns = set(Post.__table__.columns.keys())
    assert {f"latest_{name}" for name in STORED_NAMES} <= columns


def test_migration_0013_adds_a_column_for_every_stored_name() -> None:
    """A name added to `measures.METRICS` later needs its own migration, not a silent gap."""
    path = Path(__file__).parents[2] / "migrations/versions/0013_post_latest_values.py"
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert set(migration.NAMES) == set(STORED_NAMES)
