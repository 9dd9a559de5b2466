"""Small helpers shared by integration tests."""

from __future__ import annotations

from sqlalchemy import func, select

from briefcast.models import Brief, OutboxMessage, Post, Run
from briefcast.models.session import worker_session


def row_counts() -> dict[str, int]:
    with worker_session() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Brief, Run, Post, OutboxMessage)
        }


def brief(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "topic": "Our autumn sneaker drop is here",
        "key_points": ["Made from recycled ocean plastic", "Free returns for 60 days"],
        "brand_voice": "playful and confident",
        "audience": "urban runners",
        "platforms": ["instagram", "linkedin"],
    }
    body.update(overrides)
    return body
