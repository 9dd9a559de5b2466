"""publish_at "best" on the live stack: with a history shaped by the sandbox's own weekly
profile, a brief's posts are scheduled at the sandbox's best weekday and hour, and the run
says why; a campaign template's "best" publishes each occurrence at the best time after it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from briefcast.models import Brief, Campaign, CampaignStatus, MetricSnapshot, Post, Run
from briefcast.models.posts import PostStatus
from briefcast.models.repositories.analytics import (
    backfill_latest_readings,
    backfill_latest_values,
)
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.runs import RunStatus, StageEvent
from briefcast.models.session import worker_session
from briefcast.pipeline.adapters.linkedin import SHARE_STATS
from briefcast.pipeline.analytics import queries
from briefcast.pipeline.analytics.best_time import LEAD
from briefcast.pipeline.campaigns import schedule
from briefcast.pipeline.campaigns.materialize import materialize
from briefcast.pipeline.schedule.service import schedule_run
from briefcast.reports import charts
from briefcast.sandbox import audience, instagram_rules, linkedin_rules
from tests.integration.live import SETTLED, submit, wait_for
from tests.live import Live

pytestmark = pytest.mark.integration

WEEK = timedelta(days=7)
COLLECTED_AFTER = WEEK  # each post's +7 d reading, the last one the collector takes
WEEKS_BACK = range(2, 7)  # five posts per weekday x hour and platform, all read by now


def sandbox_metrics(platform: str, post_id: str, published_at: datetime) -> dict[str, int]:
    """What the sandbox answers for this post a week after publishing, as the adapters store
    it (`measures.METRICS` names)."""
    published = published_at.timestamp()
    read_at = published + COLLECTED_AFTER.total_seconds()
    if platform == "instagram":
        values = instagram_rules.insight_values(post_id, published, read_at)
        return {
            name: values[name]
            for name in ("reach", "views", "likes", "comments", "saved", "shares")
        }
    stats = linkedin_rules.share_statistics(post_id, published, read_at)
    return {ours: stats[theirs] for ours, theirs in SHARE_STATS}


def publish_history(org: str, now: datetime) -> int:
    """Posts on both platforms in every weekday x hour (UTC) of the last weeks, each with the
    sandbox's reading of it: the history an organization would have after weeks of posting."""
    briefs: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    this_hour = now.replace(minute=10, second=0, microsecond=0)
    with worker_session() as session:
        org_id = ensure_organization(session, org)
        for hours_back in range(1, 7 * 24 + 1):
            cell = this_hour - timedelta(hours=hours_back)
            for weeks in WEEKS_BACK:
                published_at = cell - weeks * WEEK
                brief_id, run_id = uuid.uuid4(), uuid.uuid4()
                briefs.append(
                    {"id": brief_id, "organization_id": org_id, "topic": "history",
                     "key_points": ["a"], "brand_voice": "plain", "audience": "",
                     "brand_color": "#000000", "platforms": ["instagram", "linkedin"],
                     "request_hash": "0" * 64}
                )  # fmt: skip
                runs.append(
                    {"id": run_id, "brief_id": brief_id, "organization_id": org_id,
                     "status": RunStatus.PUBLISHED.value}
                )  # fmt: skip
                for platform in ("instagram", "linkedin"):
                    post_id = uuid.uuid4()
                    posts.append(
                        {"id": post_id, "run_id": run_id, "organization_id": org_id,
                         "platform": platform, "status": PostStatus.PUBLISHED.value,
                         "published_at": published_at}
                    )  # fmt: skip
                    snapshots.append(
                        {"post_id": post_id, "offset_s": int(COLLECTED_AFTER.total_seconds()),
                         "due_at": published_at + COLLECTED_AFTER,
                         "collected_at": published_at + COLLECTED_AFTER,
                         "metrics": sandbox_metrics(platform, str(post_id), published_at)}
                    )  # fmt: skip
        session.execute(insert(Brief), briefs)
        session.execute(insert(Run), runs)
        session.execute(insert(Post), posts)
        session.execute(insert(MetricSnapshot), snapshots)
        backfill_latest_readings(session)  # each post keeps its latest reading (0010) ...
        backfill_latest_values(session)  # ... and its numbers in columns (0013)
    return len(posts)


def test_best_picks_the_sandboxes_best_hour_and_the_run_says_why(
    live: Live, client: httpx.Client
) -> None:
    start = datetime.now(UTC)
    assert publish_history("acme", start) == 2 * 7 * 24 * len(WEEKS_BACK)

    run_id = submit(client, publish_at="best")
    view = wait_for(
        client,
        run_id,
        until=lambda v: v["status"] in SETTLED or all(p["scheduled_at"] for p in v["posts"]),
        timeout_s=60,
    )
    end = datetime.now(UTC)
    assert view["status"] == "scheduled", view
    assert view["brief"]["publish_at"] is None  # chosen at the schedule stage, not given

    step = next(e for e in view["timeline"] if e["stage"] == "schedule")
    labels = {"instagram": "Instagram", "linkedin": "LinkedIn"}
    for post in view["posts"]:
        at = datetime.fromisoformat(post["scheduled_at"]).astimezone(UTC)
        # The sandbox's best slot (a UTC weekday and hour; the brief gave no zone: UTC)...
        assert (at.weekday(), at.hour, at.minute) == (audience.BEST_WEEKDAY, audience.BEST_HOUR, 0)
        # ... its next occurrence once the lead time has passed.
        assert start + LEAD <= at < end + LEAD + WEEK
        chosen = step["detail"]["best_time"][post["platform"]]
        assert datetime.fromisoformat(chosen["at"]) == at
        assert chosen["reason"].startswith(
            f"Wednesday 18:00 UTC: best {labels[post['platform']]} engagement of your last "
            f"90 days ({len(WEEKS_BACK)} posts, "
        )
    # The same slot is best on both platforms, so both posts go out together.
    assert len({p["scheduled_at"] for p in view["posts"]}) == 1
    assert datetime.fromisoformat(step["detail"]["due"]) == datetime.fromisoformat(
        view["posts"][0]["scheduled_at"]
    )


def test_the_heatmap_puts_the_sandboxes_best_hour_on_top(live: Live, client: httpx.Client) -> None:
    now = datetime.now(UTC)
    publish_history("acme", now)
    with worker_session() as session:
        org_id = ensure_organization(session, "acme")
        rows = queries.grouped_sync(
            session,
            queries.Filter(org_id, since=now - 90 * timedelta(days=1), until=now),
            queries.Grouping.WEEKDAY_HOUR,
        )
    # Every weekday x hour has its posts; the sandbox's best slot has the best rate.
    assert len(rows) == 7 * 24
    assert charts.best_cell(rows) == (audience.BEST_WEEKDAY, audience.BEST_HOUR)
    # The API's heatmap is drawn from the same rows and names that cell in its title.
    answer = client.get("/api/v1/analytics/charts/best-time.svg", params={"timezone": "UTC"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert "Wed 18:00" in answer.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"publish_at": "soon"}, "publish_at"),
        ({"publish_at": "best", "timezone": "Mars/Olympus"}, "timezone"),
        ({"publish_at": "2026-12-01T09:00:00+01:00", "timezone": "UTC"}, ""),
    ],
)
def test_the_api_accepts_best_and_refuses_other_strings(
    live: Live, client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    brief = {"topic": "A topic", "key_points": ["a"], "platforms": ["linkedin"]}
    response = client.post("/api/v1/briefs", json={**brief, **body})
    assert response.status_code == 422, response.text
    assert response.json()["error_code"] == "validation_error"
    assert field in response.text
    ok = client.post(
        "/api/v1/briefs", json={**brief, "publish_at": "best", "timezone": "Europe/Berlin"}
    )
    assert ok.status_code == 202, ok.text
    with worker_session() as session:
        stored = session.get(Brief, uuid.UUID(ok.json()["brief_id"]))
        assert stored is not None
        assert (stored.publish_at, stored.best_time_zone) == (None, "Europe/Berlin")


def test_a_campaign_templates_best_publishes_after_each_occurrence_in_its_zone(
    db: None,
) -> None:
    """No history yet: the default profile decides, in the campaign's zone, after the
    occurrence (Friday 1 January 2027, 09:00 Berlin): the profile's first best cell after it
    is Tuesday 09:00."""
    zone = "Europe/Berlin"
    document = {
        "kind": "recurrence", "rrule": "FREQ=DAILY", "start": "2027-01-01T09:00:00", "count": 1,
    }  # fmt: skip
    created = datetime(2027, 1, 1, 7, 58, tzinfo=UTC)
    with worker_session() as session:
        campaign = Campaign(
            id=uuid.uuid4(),
            organization_id=ensure_organization(session, "campaign-org"),
            name="weekly tip",
            timezone=zone,
            schedule=document,
            brief_template={
                "topic": "A weekly tip", "key_points": ["One idea a week"],
                "platforms": ["instagram", "linkedin"], "publish_at": "best",
            },
            status=CampaignStatus.ACTIVE,
            materialized_through=created,
            lateness_s=3600,
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        sched = schedule.parse(document, zone)
        assert isinstance(sched, schedule.Recurrence)
        campaign.next_due_at = sched.first_after(created)
        campaign_id = campaign.id
    with worker_session() as session:
        report = materialize(
            session, created, horizon=timedelta(minutes=5), campaign_id=campaign_id
        )
    assert report.created == 1
    run_id = report.runs[0].run_id
    occurrence = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    with worker_session() as session:
        brief = session.scalars(select(Brief).where(Brief.campaign_id == campaign_id)).one()
        assert (brief.publish_at, brief.best_time_zone) == (occurrence, zone)
        # The run as the pipeline leaves it before the schedule stage: copy and images done.
        session.get_one(Run, run_id).status = RunStatus.RENDERING
        for post in session.scalars(select(Post).where(Post.run_id == run_id)):
            post.image_path = f"{post.id}.jpg"
    with worker_session() as session:
        assert schedule_run(session, run_id)
    with worker_session() as session:
        expected = datetime(2027, 1, 5, 8, 0, tzinfo=UTC)  # Tuesday 09:00 in Berlin (CET)
        posts = session.scalars(select(Post).where(Post.run_id == run_id)).all()
        assert {p.platform: p.scheduled_at for p in posts} == {
            "instagram": expected,
            "linkedin": expected,
        }
        # The posts carry the campaign they were planned for (analytics groups by it).
        assert {p.campaign_id for p in posts} == {campaign_id}
        step = session.scalars(
            select(StageEvent).where(StageEvent.run_id == run_id, StageEvent.stage == "schedule")
        ).one()
        assert step.detail["best_time"]["linkedin"]["reason"] == (
            "Tuesday 09:00 Europe/Berlin: from the default profile: fewer than 5 posts of your "
            "own at this hour yet (0 of 0 in the last 90 days)"
        )
