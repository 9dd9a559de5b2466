"""Uploads: photos and logos are checked before they are kept; briefs use their own."""

from __future__ import annotations

import io
import struct
import zlib

import httpx
import pytest
from PIL import Image

from tests.conftest import Live
from tests.integration.helpers import brief, row_counts

pytestmark = pytest.mark.integration


def _jpeg(width: int = 1600, height: int = 1200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (180, 90, 40)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (64, 64)).save(out, "GIF")
    return out.getvalue()


def _png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header declares 900 megapixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _client(live: Live, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _upload(client: httpx.Client, data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    return client.post("/api/v1/uploads", content=data, headers={"Content-Type": content_type})


def test_a_photo_upload_is_stored_and_served(live: Live, org_token: str) -> None:
    response = _upload(_client(live, org_token), _jpeg())
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["width"], body["height"], body["content_type"]) == (1600, 1200, "image/jpeg")
    served = httpx.get(body["url"])
    assert served.status_code == 200 and served.content[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (_png_bomb(), 422, "image_too_many_pixels"),
        (b"%PDF-1.4 not an image at all", 422, "image_not_an_image"),
        (_gif(), 422, "image_format_not_allowed"),
    ],
)
def test_unsafe_uploads_are_refused_with_a_clear_error(
    live: Live, org_token: str, data: bytes, status: int, code: str
) -> None:
    response = _upload(_client(live, org_token), data, "application/octet-stream")
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    assert row_counts()["briefs"] == 0


def test_a_50_megabyte_upload_is_refused_before_it_is_read(live: Live, org_token: str) -> None:
    response = _upload(_client(live, org_token), b"\xff\xd8" + b"\0" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["error_code"] == "payload_too_large"


def test_a_brief_may_not_use_another_organizations_upload(
    live: Live, org_token: str, other_org_token: str
) -> None:
    upload_id = _upload(_client(live, org_token), _jpeg()).json()["id"]
    body = brief(template="photo", photo_upload_id=upload_id)
    refused = _client(live, other_org_token).post("/api/v1/briefs", json=body)
    assert refused.status_code == 422
    assert refused.json()["error_code"] == "unknown_upload"
    assert _client(live, org_token).post("/api/v1/briefs", json=body).status_code == 202


def test_the_photo_template_needs_a_photo(live: Live, org_token: str) -> None:
    response = _client(live, org_token).post("/api/v1/briefs", json=brief(template="photo"))
    assert response.status_code == 422
    assert row_counts()["briefs"] == 0


def test_a_logo_is_normalised_to_png_on_the_brand_voice(live: Live, org_token: str) -> None:
    client = _client(live, org_token)
    voice = client.post("/api/v1/brand-voices", json={"name": "Logo", "tone": "calm"}).json()
    response = client.put(
        f"/api/v1/brand-voices/{voice['id']}/logo", content=_jpeg(400, 200),
        headers={"Content-Type": "image/jpeg"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["logo_key"].endswith(".png") and updated["version"] == 2
    logo = httpx.get(f"{live.api_url}/media/{updated['logo_key']}")
    assert Image.open(io.BytesIO(logo.content)).format == "PNG"
