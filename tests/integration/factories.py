"""Rows for tests, written through the same models the product uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from briefcast.models import Brief, Post, PostStatus, Run, RunStatus
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.session import worker_session


def make_run(
    *,
    status: RunStatus = RunStatus.ACCEPTED,
    platforms: tuple[str, ...] = ("instagram", "linkedin"),
    topic: str = "Our autumn sneaker drop is here",
    captions: dict[str, str] | None = None,
    post_status: PostStatus = PostStatus.PENDING,
    scheduled_in_s: float | None = None,
    org: str = "factory-org",
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    with worker_session() as session:
        org_id = ensure_organization(session, org)
        brief = Brief(
            organization_id=org_id,
            topic=topic,
            key_points=["Made from recycled ocean plastic"],
            brand_voice="playful",
            audience="runners",
            brand_color="#2E7D32",
            platforms=list(platforms),
            request_hash="0" * 64,
        )
        session.add(brief)
        session.flush()
        run = Run(brief_id=brief.id, organization_id=org_id, status=status)
        session.add(run)
        session.flush()
        posts = []
        for platform in platforms:
            caption = (captions or {}).get(platform)
            post = Post(
                run_id=run.id,
                organization_id=org_id,
                platform=platform,
                status=post_status,
                caption=caption,
                headline=topic,
                alt_text=f"An image about {topic}",
                copy_variants=[]
                if caption is None
                else [{"caption": caption, "hashtags": [], "headline": topic,
                       "alt_text": f"An image about {topic}", "call_to_action": ""}],
            )  # fmt: skip
            if scheduled_in_s is not None:
                post.scheduled_at = datetime.now(UTC) + timedelta(seconds=scheduled_in_s)
            posts.append(post)
        session.add_all(posts)
        session.flush()
        return run.id, [post.id for post in posts]


def connect_account(
    org: str,
    platform: str,
    account_ref: str = "acct",
    token: str = "t",  # noqa: S107
) -> uuid.UUID:
    """The organization's own connected account on `platform` (its token encrypted)."""
    from briefcast.models import PlatformAccount
    from briefcast.security import cipher

    with worker_session() as session:
        org_id = ensure_organization(session, org)
        account = PlatformAccount(
            organization_id=org_id,
            platform=platform,
            account_ref=account_ref,
            token_ciphertext=cipher().encrypt(token),
        )
        session.add(account)
        session.flush()
        return account.id
