"""Organizations, for the CLI's bootstrap (sync)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from briefcast.models.tenancy import Organization


def ensure_organization(session: Session, slug: str, name: str | None = None) -> uuid.UUID:
    session.execute(
        insert(Organization)
        .values(id=uuid.uuid4(), slug=slug, name=name or slug)
        .on_conflict_do_nothing(index_elements=["slug"])
    )
    return session.scalars(select(Organization.id).where(Organization.slug == slug)).one()
