"""Images through the live stack: the photo template, a refused photo, a brand kit."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from briefcast.settings import get_settings
from tests.integration.helpers import brief
from tests.integration.live import wait_for
from tests.live import Live

pytestmark = pytest.mark.integration


@pytest.fixture
def trust_local_photos(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test's own servers are on 127.0.0.1: trusted explicitly, as an operator would."""
    monkeypatch.setenv("PHOTO_FETCH_ALLOWED_HOSTS", "127.0.0.1")
    get_settings.cache_clear()  # the in-process worker reads settings per task
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _photo() -> bytes:
    out = io.BytesIO()
    image = Image.linear_gradient("L").resize((2000, 1500)).convert("RGB")
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def test_a_photo_brief_is_published_with_the_photo_and_its_alt_text(
    live: Live, client: httpx.Client
) -> None:
    upload = client.post(
        "/api/v1/uploads", content=_photo(), headers={"Content-Type": "image/jpeg"}
    )
    assert upload.status_code == 201, upload.text
    run_id = client.post(
        "/api/v1/briefs", json=brief(template="photo", photo_upload_id=upload.json()["id"])
    ).json()["run_id"]
    view = wait_for(client, run_id)
    assert view["status"] == "published", view
    for post in view["posts"]:
        image = Image.open(io.BytesIO(httpx.get(post["image_url"]).content))
        expected = (1080, 1350) if post["platform"] == "instagram" else (1200, 627)
        assert (image.format, image.size) == ("JPEG", expected)
        key = post["image_url"].split("/media/", 1)[1]
        sidecar = get_settings().media_root / key.replace(".jpg", ".json")
        facts = json.loads(sidecar.read_text())
        assert facts["alt_text"] == post["alt_text"] and facts["template"] == "photo"
        served = httpx.get(post["image_url"])
        assert key.split("/")[-1] == hashlib.sha256(served.content).hexdigest() + ".jpg"
        assert served.headers["x-content-type-options"] == "nosniff"
        # Media is served by content-addressed name only: the sidecar beside it is not.
        assert httpx.get(post["image_url"].replace(".jpg", ".json")).status_code == 404


def test_a_photo_that_cannot_be_fetched_fails_the_run_and_posts_nothing(
    live: Live, client: httpx.Client, trust_local_photos: None
) -> None:
    missing = f"{live.api_url}/media/no/such-photo.jpg"
    run_id = client.post("/api/v1/briefs", json=brief(template="photo", photo_url=missing)).json()[
        "run_id"
    ]
    view = wait_for(client, run_id)
    assert view["status"] == "failed"
    assert "answered HTTP 404" in view["status_reason"]
    assert all(post["status"] != "published" for post in view["posts"])
    assert live.sandbox_posts("instagram") == [] and live.sandbox_posts("linkedin") == []


def test_a_quote_card_uses_the_brand_kit(live: Live, client: httpx.Client) -> None:
    voice = client.post(
        "/api/v1/brand-voices",
        json={"name": "Kit", "tone": "warm", "primary_color": "#7B1FA2",
              "secondary_color": "#311B92", "font": "dejavu-serif"},
    ).json()  # fmt: skip
    body = brief(template="quote", quote="Good shoes take you good places.",
                 attribution="Our founder", brand_voice_id=voice["id"])  # fmt: skip
    view = wait_for(client, client.post("/api/v1/briefs", json=body).json()["run_id"])
    assert view["status"] == "published"
    image = Image.open(io.BytesIO(httpx.get(view["posts"][0]["image_url"]).content)).convert("RGB")
    pixel = image.getpixel((5, 5))
    assert isinstance(pixel, tuple)
    r, _, b = pixel
    assert abs(r - 0x7B) < 24 and abs(b - 0xA2) < 24  # the brand's colour, not the default


def test_a_photo_url_on_a_private_address_fails_the_run_with_the_reason(
    live: Live, client: httpx.Client
) -> None:
    """No allow-list: the API's own address (loopback) is not fetched, whatever the path."""
    upload = client.post(
        "/api/v1/uploads", content=_photo(), headers={"Content-Type": "image/jpeg"}
    ).json()
    assert httpx.get(upload["url"]).status_code == 200  # it is there, and still not fetched
    body = brief(template="photo", photo_url=upload["url"])
    view = wait_for(client, client.post("/api/v1/briefs", json=body).json()["run_id"])
    assert view["status"] == "failed"
    assert (
        "photo_url resolves to a loopback address (127.0.0.1); only public addresses are fetched"
        in view["status_reason"]
    )
    assert all(post["status"] != "published" for post in view["posts"])
    assert live.sandbox_posts("instagram") == [] and live.sandbox_posts("linkedin") == []
