"""Analytics read back on known data: each grouping's counts, sums and mean rates (computed
here by hand from the readings below), time zones, the latest reading per post, tenancy, the
CSV export agreeing with the JSON, one post's series, and parameter errors."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest

from briefcast.models import MetricSnapshot, Post
from briefcast.models.repositories.analytics import (
    STORED_NAMES,
    backfill_latest_readings,
    backfill_latest_values,
)
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.session import worker_session
from briefcast.pipeline.adapters.publisher import PostMetrics, Publisher
from briefcast.pipeline.analytics import measures
from briefcast.pipeline.analytics.queries import Filter, Grouping, grouped_sync, post_series_sync
from briefcast.pipeline.analytics.service import collect_snapshot
from tests.integration.analytics_data import make_campaign, published_post

pytestmark = pytest.mark.integration

SINCE = "2030-01-01T00:00:00+00:00"
UNTIL = "2030-01-31T00:00:00+00:00"
H, D = 3600, 86400

# Instagram post: two readings; a later snapshot that failed must not count.
IG_EARLY = {"reach": 100, "views": 150, "likes": 5, "comments": 1, "saved": 2, "shares": 2}
IG_LATEST = {"reach": 200, "views": 300, "likes": 10, "comments": 2, "saved": 3, "shares": 5}
LI = {"impressions": 1000, "unique_impressions": 800, "clicks": 20, "likes": 10, "comments": 5,
      "shares": 5}  # fmt: skip
IG_RATE = (10 + 2 + 3 + 5) / 200  # interactions over reach
LI_RATE = (20 + 10 + 5 + 5) / 1000  # clicks, reactions, comments, reposts over impressions


@pytest.fixture
def data(db: None) -> dict[str, Any]:
    """acme: four posts in January 2030 (two in campaign "Launch"), one in February; globex:
    one post in January that acme must never see."""
    launch = make_campaign("acme", "Launch")
    ids = {
        # Monday 23:30 UTC is already Tuesday 00:30 in Berlin.
        "ig": published_post(
            org="acme", platform="instagram", campaign_id=launch,
            published_at=datetime(2030, 1, 7, 23, 30, tzinfo=UTC),
            readings={H: IG_EARLY, D: IG_LATEST},
            failed={3 * D: {**IG_LATEST, "reach": 9999, "likes": 9999}},
            pending=(7 * D,),
        ),
        "li": published_post(
            org="acme", platform="linkedin", campaign_id=launch,
            published_at=datetime(2030, 1, 8, 9, 15, tzinfo=UTC), readings={H: LI},
        ),
        # Nobody reached: no rate, but its numbers still add up.
        "ig_unseen": published_post(
            org="acme", platform="instagram",
            published_at=datetime(2030, 1, 8, 10, 0, tzinfo=UTC),
            readings={H: {"reach": 0, "views": 10, "likes": 0}},
        ),
        # Not collected yet: a post, with nothing else.
        "li_pending": published_post(
            org="acme", platform="linkedin",
            published_at=datetime(2030, 1, 8, 11, 0, tzinfo=UTC), pending=(H,),
        ),
        "february": published_post(
            org="acme", platform="instagram",
            published_at=datetime(2030, 2, 1, 12, 0, tzinfo=UTC), readings={H: IG_LATEST},
        ),
        "globex": published_post(
            org="globex", platform="instagram",
            published_at=datetime(2030, 1, 8, 12, 0, tzinfo=UTC), readings={H: IG_LATEST},
        ),
    }  # fmt: skip
    with worker_session() as session:
        acme = ensure_organization(session, "acme")
    return {"launch": launch, "acme": acme, **ids}


IG_METRICS = {"reach": 200, "views": 300, "likes": 10, "comments": 2, "saves": 3, "shares": 5}
LI_METRICS = {"impressions": 1000, "unique_impressions": 800, "clicks": 20, "reactions": 10,
              "comments": 5, "reposts": 5}  # fmt: skip
UNSEEN_METRICS = {"reach": 0, "views": 10, "likes": 0}
# 8 January (UTC) holds the LinkedIn post, the unseen one and the pending one.
JAN_8_METRICS = {**LI_METRICS, **UNSEEN_METRICS}


def _rows(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/analytics", params={"since": SINCE, "until": UNTIL, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["group_by"] == params.get("group_by", "day")
    rows: list[dict[str, Any]] = body["rows"]
    return rows


def _sync_rows(org_id: uuid.UUID, grouping: Grouping, **where: Any) -> list[dict[str, Any]]:
    with worker_session() as session:
        rows = grouped_sync(
            session,
            Filter(
                organization_id=org_id,
                since=datetime.fromisoformat(SINCE),
                until=datetime.fromisoformat(UNTIL),
                **where,
            ),
            grouping,
        )
    return [
        {"key": r.key, "posts": r.posts, "metrics": r.metrics, "rate": r.engagement_rate,
         "high_intent": r.high_intent}
        for r in rows
    ]  # fmt: skip


def test_rates_match_the_measures_definition(data: dict[str, Any]) -> None:
    """The rate the statement computes per post is measures.engagement_rate of its reading."""
    rows = _sync_rows(data["acme"], Grouping.POST)
    assert [r["posts"] for r in rows] == [1, 1, 1, 1]
    by_post = {r["key"]["post_id"]: r for r in rows}
    for name, metrics, platform in (
        ("ig", IG_METRICS, "instagram"),
        ("li", LI_METRICS, "linkedin"),
        ("ig_unseen", UNSEEN_METRICS, "instagram"),
    ):
        row = by_post[str(data[name])]
        assert row["metrics"] == metrics
        assert row["rate"] == measures.engagement_rate(platform, metrics)
        assert row["high_intent"] == measures.high_intent(platform, metrics)
    assert by_post[str(data["ig"])]["rate"] == pytest.approx(IG_RATE)
    assert by_post[str(data["li"])]["rate"] == pytest.approx(LI_RATE)
    assert by_post[str(data["ig_unseen"])]["rate"] is None
    pending = by_post[str(data["li_pending"])]
    assert (pending["metrics"], pending["rate"], pending["high_intent"]) == ({}, None, 0)


def _sum(*readings: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for reading in readings:
        for name, value in reading.items():
            out[name] = out.get(name, 0) + value
    return out


def test_by_day_in_utc_and_in_berlin(client: httpx.Client, data: dict[str, Any]) -> None:
    rows = _rows(client, group_by="day")
    assert [(r["day"], r["posts"]) for r in rows] == [("2030-01-07", 1), ("2030-01-08", 3)]
    # The failed 3-day snapshot and the earlier 1-hour reading do not count.
    assert rows[0]["metrics"] == IG_METRICS
    assert rows[0]["engagement_rate"] == pytest.approx(IG_RATE)
    assert rows[0]["high_intent"] == 3 + 5  # saves + shares
    assert rows[1]["metrics"] == _sum(LI_METRICS, UNSEEN_METRICS)
    # The unseen post has no rate and the pending one no reading: LinkedIn's rate alone.
    assert rows[1]["engagement_rate"] == pytest.approx(LI_RATE)
    assert rows[1]["high_intent"] == 5  # reposts

    # 23:30 UTC on Monday is Tuesday in Berlin: every post on 8 January.
    berlin = _rows(client, group_by="day", timezone="Europe/Berlin")
    assert [(r["day"], r["posts"]) for r in berlin] == [("2030-01-08", 4)]
    assert berlin[0]["metrics"] == _sum(IG_METRICS, LI_METRICS, UNSEEN_METRICS)
    assert berlin[0]["engagement_rate"] == pytest.approx((IG_RATE + LI_RATE) / 2)
    assert berlin[0]["high_intent"] == 8 + 5


def test_by_weekday_and_hour_follows_the_time_zone(
    client: httpx.Client, data: dict[str, Any]
) -> None:
    utc = _rows(client, group_by="weekday_hour")
    assert [(r["weekday"], r["hour"], r["posts"]) for r in utc] == [
        (0, 23, 1), (1, 9, 1), (1, 10, 1), (1, 11, 1),
    ]  # fmt: skip
    berlin = _rows(client, group_by="weekday_hour", timezone="Europe/Berlin")
    assert [(r["weekday"], r["hour"], r["posts"]) for r in berlin] == [
        (1, 0, 1), (1, 10, 1), (1, 11, 1), (1, 12, 1),
    ]  # fmt: skip
    assert berlin[0]["engagement_rate"] == pytest.approx(IG_RATE)
    assert berlin[1]["engagement_rate"] == pytest.approx(LI_RATE)
    assert berlin[2]["engagement_rate"] is None  # nobody reached
    assert berlin[3]["metrics"] == {}  # not collected yet


def test_by_campaign_and_by_post(client: httpx.Client, data: dict[str, Any]) -> None:
    campaigns = _rows(client, group_by="campaign")
    assert [(r["campaign"], r["posts"]) for r in campaigns] == [("Launch", 2), (None, 2)]
    assert campaigns[0]["campaign_id"] == str(data["launch"])
    assert campaigns[1]["campaign_id"] is None
    assert campaigns[0]["metrics"] == _sum(IG_METRICS, LI_METRICS)
    assert campaigns[0]["engagement_rate"] == pytest.approx((IG_RATE + LI_RATE) / 2)
    assert campaigns[0]["high_intent"] == 13
    assert campaigns[1]["engagement_rate"] is None

    posts = _rows(client, group_by="post")  # newest first
    assert [r["post_id"] for r in posts] == [
        str(data[name]) for name in ("li_pending", "ig_unseen", "li", "ig")
    ]
    assert [r["platform"] for r in posts] == ["linkedin", "instagram", "linkedin", "instagram"]
    assert posts[3]["published_at"].startswith("2030-01-07T23:30:00")
    assert [r["campaign_id"] for r in posts] == [None] * 2 + [str(data["launch"])] * 2
    assert posts[2]["metrics"] == LI_METRICS
    assert "day" not in posts[0] and "weekday" not in posts[0]


def test_filters_by_platform_campaign_and_range(client: httpx.Client, data: dict[str, Any]) -> None:
    instagram = _rows(client, group_by="post", platform="instagram")  # newest first
    assert [r["post_id"] for r in instagram] == [str(data["ig_unseen"]), str(data["ig"])]
    launch = _rows(client, group_by="day", campaign_id=str(data["launch"]))
    assert [(r["day"], r["posts"]) for r in launch] == [("2030-01-07", 1), ("2030-01-08", 1)]
    february = client.get(
        "/api/v1/analytics",
        params={"since": "2030-02-01T00:00:00+00:00", "until": "2030-03-01T00:00:00+00:00"},
    ).json()["rows"]
    assert [(r["day"], r["posts"]) for r in february] == [("2030-02-01", 1)]
    reversed_range = client.get("/api/v1/analytics", params={"since": UNTIL, "until": SINCE})
    assert reversed_range.status_code == 200 and reversed_range.json()["rows"] == []
    # Without a range, the last 30 days: the 2030 posts are not in it.
    body = client.get("/api/v1/analytics").json()
    assert body["rows"] == []
    since = datetime.fromisoformat(body["since"])
    assert (datetime.fromisoformat(body["until"]) - since).days == 30


def test_another_organization_sees_nothing(
    live: Any, other_org_token: str, data: dict[str, Any]
) -> None:
    with httpx.Client(
        base_url=live.api_url, headers={"Authorization": f"Bearer {other_org_token}"}
    ) as globex:
        rows = _rows(globex, group_by="post")
        assert [r["post_id"] for r in rows] == [str(data["globex"])]
        assert _rows(globex, group_by="campaign", campaign_id=str(data["launch"])) == []
        missing = globex.get(f"/api/v1/analytics/posts/{data['ig']}")
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "post_not_found"


def _csv_value(text: str) -> Any:
    return None if text == "" else text


@pytest.mark.parametrize("grouping", [g.value for g in Grouping])
@pytest.mark.parametrize("timezone", ["UTC", "Europe/Berlin"])
def test_csv_agrees_with_json(
    client: httpx.Client, data: dict[str, Any], grouping: str, timezone: str
) -> None:
    params = {"since": SINCE, "until": UNTIL, "group_by": grouping, "timezone": timezone}
    rows = client.get("/api/v1/analytics", params=params).json()["rows"]
    response = client.get("/api/v1/analytics", params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert len(lines) == len(rows) > 0
    metric_names = list(dict.fromkeys(n for names in measures.METRICS.values() for n in names))
    for line, row in zip(lines, rows, strict=True):
        keys = [k for k in row if k not in {"posts", "metrics", "engagement_rate", "high_intent"}]
        assert list(line)[: len(keys)] == keys
        for key in keys:
            assert _csv_value(line[key]) == (None if row[key] is None else str(row[key]))
        assert int(line["posts"]) == row["posts"]
        assert {n: int(line[n]) for n in metric_names if line[n]} == row["metrics"]
        rate = _csv_value(line["engagement_rate"])
        assert (None if rate is None else float(rate)) == row["engagement_rate"]
        assert int(line["high_intent"]) == row["high_intent"]


def test_csv_of_one_platform_has_its_metrics(client: httpx.Client, data: dict[str, Any]) -> None:
    response = client.get(
        "/api/v1/analytics",
        params={"since": SINCE, "until": UNTIL, "platform": "linkedin", "format": "csv"},
    )
    header = next(csv.reader(io.StringIO(response.text)))
    assert header == ["day", "posts", *measures.METRICS["linkedin"], "engagement_rate",
                      "high_intent"]  # fmt: skip


def test_post_series_has_deltas_and_rates(client: httpx.Client, data: dict[str, Any]) -> None:
    body = client.get(f"/api/v1/analytics/posts/{data['ig']}").json()
    assert body["platform"] == "instagram"
    assert body["campaign_id"] == str(data["launch"])
    readings = body["readings"]
    # Collected readings only: not the failed one, not the pending one.
    assert [r["offset_s"] for r in readings] == [H, D]
    early = measures.normalise("instagram", IG_EARLY)
    assert readings[0]["metrics"] == early and readings[0]["deltas"] == early
    assert readings[1]["deltas"] == {
        "reach": 100, "views": 150, "likes": 5, "comments": 1, "saves": 1, "shares": 3,
    }  # fmt: skip
    assert readings[0]["engagement_rate"] == pytest.approx((5 + 1 + 2 + 2) / 100)
    assert readings[1]["engagement_rate"] == pytest.approx(IG_RATE)
    with worker_session() as session:
        series = post_series_sync(session, data["acme"], data["ig"])
    assert series is not None and [r.metrics for r in series.readings] == [
        r["metrics"] for r in readings
    ]
    pending = client.get(f"/api/v1/analytics/posts/{data['li_pending']}").json()
    assert pending["readings"] == []
    missing = client.get(f"/api/v1/analytics/posts/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error_code"] == "post_not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "query.timezone"),
        ({"group_by": "month"}, "query.group_by"),
        ({"platform": "tiktok"}, "query.platform"),
        ({"since": "2030-01-01T00:00:00"}, "query.since"),  # no offset
        ({"until": "0.5"}, "query.until"),  # a Unix timestamp is not ISO 8601
        ({"campaign_id": "nope"}, "query.campaign_id"),
        ({"format": "xlsx"}, "query.format"),
        ({"group_by": "post", "limit": "0"}, "query.limit"),
        ({"group_by": "post", "limit": "1001"}, "query.limit"),
        ({"group_by": "post", "offset": "-1"}, "query.offset"),
    ],
)
def test_bad_parameters_name_the_field(
    client: httpx.Client, params: dict[str, str], field: str
) -> None:
    response = client.get("/api/v1/analytics", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "validation_error"
    assert field in [f["field"] for f in body["details"]["fields"]]


def test_post_grouping_pages_newest_first(client: httpx.Client, data: dict[str, Any]) -> None:
    order = [str(data[name]) for name in ("li_pending", "ig_unseen", "li", "ig")]
    response = client.get(
        "/api/v1/analytics",
        params={"since": SINCE, "until": UNTIL, "group_by": "post", "limit": "2", "offset": "1"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["limit"], body["offset"]) == (2, 1)
    assert [r["post_id"] for r in body["rows"]] == order[1:3]
    assert [r["post_id"] for r in _rows(client, group_by="post", offset="3")] == order[3:]
    assert _rows(client, group_by="post", offset="4") == []
    # The other groupings are whole and say nothing of pages.
    day = client.get("/api/v1/analytics", params={"since": SINCE, "until": UNTIL}).json()
    assert "limit" not in day and "offset" not in day

    csv_page = client.get(
        "/api/v1/analytics",
        params={"since": SINCE, "until": UNTIL, "group_by": "post", "limit": "1", "offset": "2",
                "format": "csv"},
    )  # fmt: skip
    lines = list(csv.DictReader(io.StringIO(csv_page.text)))
    assert [line["post_id"] for line in lines] == [order[2]]

    with worker_session() as session:
        where = Filter(data["acme"], datetime.fromisoformat(SINCE), datetime.fromisoformat(UNTIL))
        assert [str(r.key["post_id"]) for r in grouped_sync(session, where, Grouping.POST)] == (
            order
        )  # no limit: every post, as the report and the charts read them
        page = grouped_sync(session, where, Grouping.POST, limit=1, offset=3)
        assert [str(r.key["post_id"]) for r in page] == order[3:]


class _Publisher:
    def __init__(self, values: dict[str, int]) -> None:
        self.values = values

    def fetch_metrics(self, platform_post_id: str) -> PostMetrics:
        return PostMetrics(values=self.values)


def _publisher_for(values: dict[str, int]) -> Callable[[str], Publisher]:
    """A platform that answers `values` for any post (the sandbox's answers vary by clock)."""
    return lambda platform: cast(Publisher, _Publisher(values))


def _latest(post_id: uuid.UUID) -> tuple[int | None, dict[str, Any] | None, float | None]:
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        return post.latest_offset_s, post.latest_metrics, post.latest_engagement_rate


def _assert_latest(post_id: uuid.UUID, offset_s: int, metrics: dict[str, int], rate: float) -> None:
    kept_offset_s, kept_metrics, kept_rate = _latest(post_id)
    assert (kept_offset_s, kept_metrics) == (offset_s, metrics)
    assert kept_rate == pytest.approx(rate)


def _values(post_id: uuid.UUID) -> dict[str, int]:
    """The post's `latest_<name>` columns that hold a number."""
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        found = {name: getattr(post, f"latest_{name}") for name in STORED_NAMES}
    return {name: value for name, value in found.items() if value is not None}


def test_the_collector_keeps_the_latest_reading_on_the_post(db: None) -> None:
    post_id = published_post(
        org="acme", platform="instagram",
        published_at=datetime(2030, 1, 7, 12, 0, tzinfo=UTC), pending=(H, D),
    )  # fmt: skip
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.platform_post_id = "ig-1"
        snapshots = {
            s.offset_s: s.id
            for s in session.query(MetricSnapshot).filter(MetricSnapshot.post_id == post_id)
        }
    assert _latest(post_id) == (None, None, None)

    collect_snapshot(worker_session, snapshots[D], _publisher_for(IG_LATEST))
    _assert_latest(post_id, D, IG_LATEST, IG_RATE)
    assert _values(post_id) == IG_LATEST  # every stored number in its column as well
    # The +1 h snapshot collected late (after a retry) is older: the +24 h reading stays.
    collect_snapshot(worker_session, snapshots[H], _publisher_for(IG_EARLY))
    _assert_latest(post_id, D, IG_LATEST, IG_RATE)
    rows = _sync_rows(ensure_org(), Grouping.POST)
    assert rows[0]["metrics"] == IG_METRICS and rows[0]["rate"] == pytest.approx(IG_RATE)


def ensure_org() -> uuid.UUID:
    with worker_session() as session:
        return ensure_organization(session, "acme")


def test_backfill_takes_the_highest_error_free_offset(data: dict[str, Any]) -> None:
    """As migration 0010 runs it: posts without a kept reading get their latest snapshot's,
    the rate in SQL equal to `measures.engagement_rate`; a failed later snapshot is skipped."""
    with worker_session() as session:
        session.query(Post).update(
            {Post.latest_offset_s: None, Post.latest_metrics: None,
             Post.latest_engagement_rate: None, Post.latest_read_at: None}
        )  # fmt: skip
    assert _latest(data["ig"]) == (None, None, None)
    with worker_session() as session:
        backfill_latest_readings(session)
    _assert_latest(data["ig"], D, IG_LATEST, IG_RATE)
    _assert_latest(data["li"], H, LI, LI_RATE)
    assert _latest(data["ig_unseen"])[2] is None  # nobody reached: no rate
    assert _latest(data["li_pending"]) == (None, None, None)


def test_the_values_backfill_copies_the_kept_readings_numbers(data: dict[str, Any]) -> None:
    """As migration 0013 runs it: each kept reading's whole numbers go to their columns."""
    with worker_session() as session:
        session.query(Post).update({f"latest_{name}": None for name in STORED_NAMES})
    assert _values(data["ig"]) == {}
    with worker_session() as session:
        backfill_latest_values(session)
    assert _values(data["ig"]) == IG_LATEST
    assert _values(data["li"]) == LI
    assert _values(data["li_pending"]) == {}
