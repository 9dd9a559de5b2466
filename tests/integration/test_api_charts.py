"""GET /api/v1/analytics/charts/…: PNG and SVG answers, decodable, and tenancy."""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest
from PIL import Image

from briefcast.reports import charts
from tests.integration.analytics_data import make_campaign
from tests.integration.report_data import post_with_copy

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def data(db: None) -> dict[str, Any]:
    campaign_id = make_campaign("acme", "Weekly tips")
    post_id = post_with_copy(
        org="acme", platform="instagram", published_at=NOW - timedelta(days=2),
        caption="Compost.", campaign_id=campaign_id,
    )  # fmt: skip
    post_with_copy(org="acme", platform="linkedin", published_at=NOW - timedelta(days=1),
                   caption="Why we compost.", campaign_id=campaign_id)  # fmt: skip
    other_campaign = make_campaign("globex", "Globex tips")
    other_post = post_with_copy(
        org="globex", platform="instagram", published_at=NOW - timedelta(days=1),
        caption="Globex.", campaign_id=other_campaign,
    )  # fmt: skip
    return {
        "post": post_id,
        "campaign": campaign_id,
        "other_post": other_post,
        "other_campaign": other_campaign,
    }


def _png(response: httpx.Response, kind: Literal["line", "heatmap"]) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        image.load()
        assert image.size == charts.pixel_size(kind)


def _svg(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)  # noqa: S314 (our own renderer's output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def test_each_chart_as_png_and_svg(client: httpx.Client, data: dict[str, Any]) -> None:
    base = "/api/v1/analytics/charts"
    _png(client.get(f"{base}/post/{data['post']}.png"), "line")
    _svg(client.get(f"{base}/post/{data['post']}.svg"))
    _png(client.get(f"{base}/campaign/{data['campaign']}.png"), "line")
    _svg(client.get(f"{base}/campaign/{data['campaign']}.svg"))
    params = {"timezone": "Europe/Berlin", "platform": "instagram"}
    _png(client.get(f"{base}/best-time.png", params=params), "heatmap")
    _svg(client.get(f"{base}/best-time.svg", params=params))


def test_the_heatmap_answers_the_same_bytes_for_the_same_data(
    client: httpx.Client, data: dict[str, Any]
) -> None:
    until = (NOW + timedelta(hours=1)).isoformat()
    params = {"timezone": "Asia/Tokyo", "until": until}
    first = client.get("/api/v1/analytics/charts/best-time.svg", params=params)
    assert first.status_code == 200
    assert client.get("/api/v1/analytics/charts/best-time.svg", params=params).content == (
        first.content
    )


def test_another_organizations_post_or_campaign_is_a_404(
    client: httpx.Client, data: dict[str, Any]
) -> None:
    base = "/api/v1/analytics/charts"
    cases = {
        f"{base}/post/{data['other_post']}.png": "post_not_found",
        f"{base}/post/{uuid.uuid4()}.svg": "post_not_found",
        f"{base}/campaign/{data['other_campaign']}.png": "campaign_not_found",
    }
    for url, code in cases.items():
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error_code"] == code


def test_bad_formats_zones_and_periods_are_422(client: httpx.Client, data: dict[str, Any]) -> None:
    base = "/api/v1/analytics/charts"
    since = NOW.isoformat()
    until = (NOW - timedelta(days=1)).isoformat()
    for url, params in (
        (f"{base}/post/{data['post']}.gif", {}),
        (f"{base}/best-time.png", {"timezone": "Mars/Olympus"}),
        (f"{base}/campaign/{data['campaign']}.png", {"since": "2026-01-01T00:00:00"}),  # naive
        (f"{base}/campaign/{data['campaign']}.png", {"until": "0.5"}),  # not a date-time
    ):
        response = client.get(url, params=params)
        assert response.status_code == 422, (url, params, response.text)
        assert response.json()["error_code"] == "validation_error"
    # A window that ends before it starts holds no post: an empty chart, not an error.
    empty = client.get(f"{base}/best-time.png", params={"since": since, "until": until})
    assert empty.status_code == 200 and empty.headers["content-type"] == "image/png"


def test_the_openapi_document_names_the_image_media_types(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/analytics/charts/post/{post_id}.{fmt}",
        "/api/v1/analytics/charts/campaign/{campaign_id}.{fmt}",
        "/api/v1/analytics/charts/best-time.{fmt}",
    ):
        answers = paths[path]["get"]["responses"]
        assert set(answers["200"]["content"]) == {"image/png", "image/svg+xml"}
        assert "429" in answers and "401" in answers
