"""What `briefcast report` reads besides the analytics queries: the organization by its slug,
and the published posts' copy and image."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from briefcast.models.posts import Post
from briefcast.models.tenancy import Organization


def organization_by_slug(session: Session, slug: str) -> Organization | None:
    return session.scalars(select(Organization).where(Organization.slug == slug)).one_or_none()


def posts_by_id(session: Session, post_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Post]:
    if not post_ids:
        return {}
    return {post.id: post for post in session.scalars(select(Post).where(Post.id.in_(post_ids)))}
