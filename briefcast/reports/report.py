"""`briefcast report`: gathers what the HTML report shows, straight from the database.

Everything shown is read through the analytics queries (`queries.*_sync`) and rendered by
`charts`; the summary is computed by `summary`. `html.render` turns the result into the file.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy.orm import Session

from briefcast.models.repositories import reports as repo
from briefcast.pipeline.analytics import queries
from briefcast.pipeline.analytics.queries import Filter, Grouping, Row
from briefcast.pipeline.render.storage import LocalMediaStore
from briefcast.reports import charts
from briefcast.reports.summary import Summary, summarise

# Post images are shrunk to this many pixels on their longer side: the report shows them
# beside the copy, and the file stays small enough to mail.
THUMBNAIL_PX = 480


class UnknownOrganization(LookupError):
    pass


@dataclass(frozen=True)
class PostEntry:
    row: Row  # its Grouping.POST row: platform, published_at, latest metrics, rate
    caption: str
    headline: str | None
    image_jpeg: bytes | None  # the rendered image, as a thumbnail; None without one
    image_note: str | None  # why there is no image
    chart_png: bytes


@dataclass(frozen=True)
class CampaignEntry:
    campaign_id: uuid.UUID
    name: str
    posts: int
    chart_png: bytes


@dataclass(frozen=True)
class Report:
    organization: str
    since: datetime
    until: datetime
    timezone: str
    summary: Summary
    heatmap_png: bytes
    campaigns: list[CampaignEntry]
    posts: list[PostEntry]


def _thumbnail(path: Path) -> bytes:
    with Image.open(path) as image:
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=85)
        return out.getvalue()


def _image(store: LocalMediaStore, key: str | None) -> tuple[bytes | None, str | None]:
    if not key:
        return None, "no image"
    try:
        return _thumbnail(store.path(key)), None
    except (OSError, ValueError) as exc:
        return None, f"image {key} could not be read ({type(exc).__name__})"


def gather(
    session: Session,
    organization: str,
    *,
    until: datetime,
    days: int,
    timezone: str,
    media_root: Path,
) -> Report:
    """The report of `organization` (its slug) for the `days` before `until` (aware)."""
    org = repo.organization_by_slug(session, organization)
    if org is None:
        raise UnknownOrganization(f"no organization {organization!r}")
    since = until - timedelta(days=days)
    where = Filter(organization_id=org.id, since=since, until=until, timezone=timezone)
    before = Filter(org.id, since - (until - since), since, timezone=timezone)
    post_rows = sorted(
        queries.grouped_sync(session, where, Grouping.POST),
        key=lambda row: str(row.key.get("published_at")),
    )
    summary = summarise(post_rows, queries.grouped_sync(session, before, Grouping.POST))
    heatmap = charts.best_time_heatmap(
        queries.grouped_sync(session, where, Grouping.WEEKDAY_HOUR), timezone, "png"
    )
    campaigns = []
    for row in queries.grouped_sync(session, where, Grouping.CAMPAIGN):
        if row.key.get("campaign_id") is None:
            continue
        name = str(row.key.get("campaign") or row.key["campaign_id"])
        own = [r for r in post_rows if r.key.get("campaign_id") == row.key["campaign_id"]]
        campaigns.append(
            CampaignEntry(
                campaign_id=uuid.UUID(str(row.key["campaign_id"])),
                name=name,
                posts=row.posts,
                chart_png=charts.campaign_chart(own, "png", title=name),
            )
        )
    store = LocalMediaStore(media_root)
    found = repo.posts_by_id(session, [uuid.UUID(str(row.key["post_id"])) for row in post_rows])
    posts = []
    for row in post_rows:
        post_id = uuid.UUID(str(row.key["post_id"]))
        post = found[post_id]
        series = queries.post_series_sync(session, org.id, post_id)
        image, note = _image(store, post.image_path)
        posts.append(
            PostEntry(
                row=row,
                caption=post.caption or "",
                headline=post.headline,
                image_jpeg=image,
                image_note=note,
                chart_png=charts.post_chart(series, "png")
                if series is not None
                else charts.post_chart(_empty_series(row, post_id), "png"),
            )
        )
    return Report(
        organization=org.name,
        since=since,
        until=until,
        timezone=timezone,
        summary=summary,
        heatmap_png=heatmap,
        campaigns=sorted(campaigns, key=lambda c: c.name),
        posts=posts,
    )


def _empty_series(row: Row, post_id: uuid.UUID) -> queries.PostSeries:
    return queries.PostSeries(
        post_id=post_id,
        platform=str(row.key.get("platform")),
        published_at=None,
        run_id=uuid.UUID(str(row.key["run_id"])),
        campaign_id=None,
        readings=[],
    )
