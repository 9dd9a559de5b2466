"""`briefcast report` on posts with readings in the database: the file is opened, every image
in it decoded, and the summary checked against the data."""

from __future__ import annotations

import base64
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from briefcast.cli import app
from briefcast.cli_report import write_report
from briefcast.pipeline.analytics import measures
from briefcast.reports import charts
from tests.integration.analytics_data import make_campaign
from tests.integration.report_data import READINGS, post_with_copy

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "img":
            self.images.append({k: v or "" for k, v in attrs})


def _decode(src: str) -> tuple[str, tuple[int, int] | None]:
    """An image's media type and, for raster images, its decoded size."""
    match = re.fullmatch(r"data:(image/[a-z+]+);base64,([A-Za-z0-9+/=]+)", src)
    assert match, src[:80]
    data = base64.b64decode(match[2], validate=True)
    if match[1] == "image/svg+xml":
        ET.fromstring(data)  # noqa: S314 (our own renderer's output)
        return match[1], None
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert Image.MIME[image.format or ""] == match[1]
        return match[1], image.size


def _rate(platform: str, likes_x: int) -> float:
    latest = dict(READINGS[platform][3600])
    latest["likes"] *= likes_x
    rate = measures.engagement_rate(platform, measures.normalise(platform, latest))
    assert rate is not None
    return rate


@pytest.fixture
def data(db: None) -> dict[str, Any]:
    campaign_id = make_campaign("acme", "Weekly tips")
    posts = {
        "ig_tip": post_with_copy(
            org="acme", platform="instagram", published_at=NOW - timedelta(days=3, hours=2),
            caption="Compost your coffee grounds. <b>Really</b>.", likes_x=3,
            campaign_id=campaign_id,
        ),
        "li_tip": post_with_copy(
            org="acme", platform="linkedin", published_at=NOW - timedelta(days=2),
            caption="Why we compost at the office.", campaign_id=campaign_id, colour=(20, 60, 200),
        ),
        "ig_solo": post_with_copy(
            org="acme", platform="instagram", published_at=NOW - timedelta(days=1),
            caption="A photo from the roastery.", likes_x=1, colour=(200, 120, 20),
        ),
    }  # fmt: skip
    # The period before (30 to 60 days ago): one post, for the trend.
    post_with_copy(
        org="acme", platform="instagram", published_at=NOW - timedelta(days=40),
        caption="Last month's post.", likes_x=2,
    )  # fmt: skip
    # Another organization's post is never in acme's report.
    post_with_copy(
        org="globex", platform="instagram", published_at=NOW - timedelta(days=1),
        caption="Globex secret launch.",
    )  # fmt: skip
    return {"campaign_id": campaign_id, "posts": posts}


def test_the_report_holds_every_chart_each_image_and_a_computed_summary(
    data: dict[str, Any], tmp_path: Path
) -> None:
    out = write_report("acme", tmp_path / "report.html", days=30, timezone="Europe/Berlin")
    page = out.read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(page)
    # Self-contained: no script, stylesheet link or frame, and every image inline.
    assert not parser.tags & {"script", "link", "iframe", "object"}
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    by_alt = {image["alt"]: _decode(image["src"]) for image in parser.images}
    assert len(by_alt) == len(parser.images) == 1 + 1 + 3 + 3

    line, heatmap = charts.pixel_size("line"), charts.pixel_size("heatmap")
    assert by_alt["engagement rate by weekday and hour"] == ("image/png", heatmap)
    assert by_alt["Weekly tips: engagement by occurrence"] == ("image/png", line)
    post_charts = [alt for alt in by_alt if alt.endswith(": metrics over time")]
    photos = [alt for alt in by_alt if alt.startswith("image of the ")]
    assert len(post_charts) == 3 and all(by_alt[alt] == ("image/png", line) for alt in post_charts)
    assert len(photos) == 3 and all(by_alt[alt] == ("image/jpeg", (480, 480)) for alt in photos)

    assert "Compost your coffee grounds. &lt;b&gt;Really&lt;/b&gt;." in page  # copy, escaped
    assert "Why we compost at the office." in page
    assert "Globex" not in page

    ig_tip, li_tip, ig_solo = _rate("instagram", 3), _rate("linkedin", 1), _rate("instagram", 1)
    best, worst = max(ig_tip, li_tip, ig_solo), min(ig_tip, li_tip, ig_solo)
    assert best == ig_tip and worst == li_tip  # the data is built so; the report must agree
    named = "post &quot;{}&quot; of [^,]+, engagement rate {:.2f}%"
    assert re.search(
        "Best post: instagram " + named.format("Compost your coffee grounds", best * 100), page
    )
    assert re.search(
        "Worst post: linkedin " + named.format("Why we compost at the office", worst * 100), page
    )
    mean, previous = (ig_tip + li_tip + ig_solo) / 3, _rate("instagram", 2)
    change = (mean - previous) / previous * 100
    assert f"Mean engagement rate (%): {mean * 100:.2f} ({change:+.1f}% against" in page
    reach = READINGS["instagram"][3600]["reach"]
    assert f"Total reach: {2 * reach:,} (+100.0% against the previous period)" in page
    impressions = READINGS["linkedin"][3600]["impressions"]
    assert f"Total impressions: {impressions:,} (no previous data)" in page


def test_the_command_writes_the_report_and_prints_its_path(
    data: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "cli" / "report.html"
    result = CliRunner().invoke(app, ["report", "--org", "acme", "--days", "7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    assert "Weekly tips" in out.read_text(encoding="utf-8")

    unknown = CliRunner().invoke(app, ["report", "--org", "nobody", "--out", str(out)])
    assert unknown.exit_code == 2 and "no organization 'nobody'" in unknown.output
    bad_zone = CliRunner().invoke(app, ["report", "--org", "acme", "--timezone", "Mars/Olympus"])
    assert bad_zone.exit_code == 2 and "unknown time zone" in bad_zone.output
