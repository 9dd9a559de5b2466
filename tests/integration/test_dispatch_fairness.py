"""The dispatcher's claims: per account, fair across organizations, safe with two dispatchers,
and refilled the moment a publish settles."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from briefcast.models import Post, PostStatus
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.session import worker_session
from briefcast.pipeline import tasks
from briefcast.pipeline.publish import service as publish
from briefcast.pipeline.publish.dispatch import claim_due_posts, claim_next_for_account
from briefcast.settings import get_settings
from tests.integration.factories import connect_account, make_run

pytestmark = pytest.mark.integration


def _due_posts(
    org: str, count: int, platform: str = "instagram", due_in_s: float = -1
) -> list[uuid.UUID]:
    return [
        make_run(org=org, platforms=(platform,), post_status=PostStatus.SCHEDULED,
                 scheduled_in_s=due_in_s)[1][0]
        for _ in range(count)
    ]  # fmt: skip


def _claim(**kw: Any) -> list[uuid.UUID]:
    with worker_session() as session:
        return [c.post_id for c in claim_due_posts(session, lease_s=60, **kw)]


def test_one_organizations_backlog_does_not_block_anothers_due_post(db: None) -> None:
    connect_account("big", "instagram")
    connect_account("small", "instagram")
    backlog = _due_posts("big", 30, due_in_s=-60)  # due a minute ago, all of them
    (single,) = _due_posts("small", 1, due_in_s=-1)  # due after every one of them
    claimed = _claim(per_account=50, limit=10)  # room for a third of the backlog this tick
    assert single in claimed
    assert len(claimed) == 10 and set(claimed) - {single} <= set(backlog)


def test_the_limit_is_per_connected_account_not_per_platform(db: None) -> None:
    for org in ("a", "b"):
        connect_account(org, "linkedin")
    a_posts, b_posts = _due_posts("a", 6, "linkedin"), _due_posts("b", 6, "linkedin")
    first = set(_claim(per_account=4))
    assert (len(first & set(a_posts)), len(first & set(b_posts))) == (4, 4)
    assert _claim(per_account=4) == []  # both accounts at their limit


def test_organizations_without_an_account_share_the_settings_account_and_its_limit(
    db: None,
) -> None:
    _due_posts("c", 3)
    _due_posts("d", 3)
    first = _claim(per_account=4)
    assert len(first) == 4  # one account (the settings one) for both organizations
    with worker_session() as session:
        owners = {posts_repo.organization_of(session, post_id) for post_id in first}
    assert len(owners) == 2  # shared fairly: each organization got some of the four


def test_concurrent_dispatchers_never_exceed_an_accounts_limit(db: None) -> None:
    connect_account("e", "instagram")
    posts = _due_posts("e", 12)
    first_claimed = threading.Event()
    claimed: list[list[uuid.UUID]] = [[], []]

    def first() -> None:
        with worker_session() as session:
            claimed[0] = [c.post_id for c in claim_due_posts(session, lease_s=60, per_account=5)]
            first_claimed.set()
            time.sleep(0.5)  # still uncommitted while the second dispatcher runs

    def second() -> None:
        first_claimed.wait(10)
        with worker_session() as session:
            claimed[1] = [c.post_id for c in claim_due_posts(session, lease_s=60, per_account=5)]

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(claimed[0]) == 5 and set(claimed[0]) <= set(posts)
    assert claimed[1] == []  # it waited for the first claim to commit, then saw the account full


def test_a_settled_publish_claims_its_accounts_next_due_post(db: None) -> None:
    connect_account("f", "instagram")
    connect_account("g", "instagram")
    mine = _due_posts("f", 3)
    _due_posts("g", 2)  # another account's due posts are the tick's, not this settle's
    (in_flight,) = _claim(per_account=1, limit=1)
    assert in_flight in mine
    with worker_session() as session:
        post = session.get(Post, in_flight)
        assert post is not None
        post.status, post.claim_id = PostStatus.PUBLISHED, None  # it settled
    with worker_session() as session:
        claimed = claim_next_for_account(session, in_flight, lease_s=60, per_account=1)
    assert len(claimed) == 1 and claimed[0].post_id in set(mine) - {in_flight}


def test_the_publish_task_sends_the_next_claim_without_waiting_for_a_tick(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_account("h", "linkedin")
    first, second = _due_posts("h", 2, "linkedin")
    with worker_session() as session:
        post = session.get(Post, second)
        assert post is not None
        post.scheduled_at = datetime.now(UTC) + timedelta(seconds=-0.5)
    (claimed,) = _claim(per_account=1, limit=1)
    assert claimed == first

    def settle(_scope: Any, post_id: uuid.UUID, *_: Any) -> str:
        with worker_session() as session:
            post = session.get(Post, post_id)
            assert post is not None
            post.status, post.claim_id = PostStatus.PUBLISHED, None
        return PostStatus.PUBLISHED

    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(publish, "publish_post", settle)
    monkeypatch.setattr(tasks.publish_post, "apply_async", lambda args, **_: sent.append(args))
    monkeypatch.setattr(get_settings(), "publish_concurrency_per_account", 1)
    assert tasks.publish_post.run(str(first), str(uuid.uuid4())) == PostStatus.PUBLISHED
    assert [args[0] for args in sent] == [str(second)]
    with worker_session() as session:
        post = session.get(Post, second)
        assert post is not None and post.status == PostStatus.PUBLISHING
        assert sent[0][1] == str(post.claim_id)  # the task acts on the claim just made
