"""Outside development an organization publishes only through its own connected account."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from briefcast.models import Post, PostStatus, RunStatus
from briefcast.models.repositories import accounts as accounts_repo
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.session import api_sessionmaker, create_api_engine, worker_session
from briefcast.pipeline import tasks
from briefcast.pipeline.adapters.publisher import reconnect_reason
from briefcast.pipeline.publish.dispatch import claim_due_posts
from briefcast.pipeline.publish.registry import missing_account_reason
from briefcast.pipeline.publish.service import MediaLocator, publish_post
from briefcast.security import cipher
from briefcast.settings import get_settings
from tests.integration.factories import connect_account, make_run

pytestmark = pytest.mark.integration
MEDIA = MediaLocator(url=lambda key: f"http://media.test/{key}", path=str)


def _claim_one() -> tuple[uuid.UUID, uuid.UUID]:
    with worker_session() as session:
        (claim,) = claim_due_posts(session, lease_s=60)
    return claim.post_id, claim.claim_id


def _connect(org_id: uuid.UUID, platform: str) -> None:
    async def connect() -> None:
        engine = create_api_engine()
        try:
            async with api_sessionmaker(engine)() as session:
                token = cipher().encrypt("a-token")
                await accounts_repo.connect(
                    session, org_id, platform, "urn:li:person:1", token, None
                )
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(connect())


def test_posts_without_a_connected_account_wait_with_the_reason_and_go_out_on_connect(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "allow_settings_account", False)
    run_id, (post_id,) = make_run(
        org="no-account", platforms=("linkedin",), post_status=PostStatus.SCHEDULED,
        scheduled_in_s=-1,
    )  # fmt: skip
    claimed_id, claim_id = _claim_one()
    assert claimed_id == post_id
    # The real lookup the publish task uses; the settings account is never reached.
    status = publish_post(worker_session, post_id, claim_id, tasks._post_publisher, MEDIA, [60])
    assert status == PostStatus.NEEDS_RECONNECT
    with worker_session() as session:
        post = session.get(Post, post_id)
        run = runs_repo.get(session, run_id)
        org_id = posts_repo.organization_of(session, post_id)
    assert post is not None and run is not None and org_id is not None
    assert post.status_reason == missing_account_reason("linkedin")
    assert post.status_reason.startswith("connect your LinkedIn account")
    assert run.status == RunStatus.NEEDS_RECONNECT

    _connect(org_id, "linkedin")
    assert _claim_one()[0] == post_id  # released: due again, claimed by the next tick


def test_a_refused_token_is_named_once_in_the_reason(db: None) -> None:
    connect_account("revoked", "instagram")
    _, (post_id,) = make_run(
        org="revoked", platforms=("instagram",), post_status=PostStatus.SCHEDULED,
        scheduled_in_s=-1,
    )  # fmt: skip
    refused = reconnect_reason("instagram", "Error validating access token")
    with worker_session() as session:
        org_id = posts_repo.organization_of(session, post_id)
        assert org_id is not None
        accounts_repo.mark_needs_reconnect(session, org_id, "instagram", refused)
    _, claim_id = _claim_one()
    status = publish_post(worker_session, post_id, claim_id, tasks._post_publisher, MEDIA, [60])
    assert status == PostStatus.NEEDS_RECONNECT
    with worker_session() as session:
        post = session.get(Post, post_id)
    assert post is not None and post.status_reason == refused  # said once, not prefixed again
