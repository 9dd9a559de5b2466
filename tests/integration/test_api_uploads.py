"""Uploads: photos and logos are checked before they are kept; briefs use their own."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import httpx
import pytest
from PIL import Image, ImageCms

from briefcast.settings import get_settings
from tests.integration.helpers import brief, row_counts
from tests.live import ApiAs, Live

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


def _upload(client: httpx.Client, data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    return client.post("/api/v1/uploads", content=data, headers={"Content-Type": content_type})


def test_a_photo_upload_is_stored_and_served(api_as: ApiAs, org_token: str) -> None:
    response = _upload(api_as(org_token), _jpeg())
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["width"], body["height"], body["content_type"]) == (1600, 1200, "image/jpeg")
    served = httpx.get(body["url"])
    assert served.status_code == 200 and served.content[:2] == b"\xff\xd8"


GPS_IFD, ORIENTATION, MAKE = 0x8825, 0x0112, 0x010F


def _camera_jpeg(icc: bool) -> bytes:
    """A 300x200 JPEG, left half red and right half blue, that says "rotate 90° clockwise"
    (orientation 6) and carries a GPS position, a camera make, XMP, a comment and (if `icc`)
    a colour profile."""
    image = Image.new("RGB", (300, 200), (220, 20, 20))
    image.paste((20, 20, 220), (150, 0, 300, 200))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "SpyCam"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (52.0, 22.0, 31.0), 3: "E", 4: (4.0, 53.0, 2.0)})
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() if icc else None
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">exif:GPSLatitude 52,22.5N</x:xmpmeta>'
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif, icc_profile=srgb, comment=b"home", xmp=xmp)
    return out.getvalue()


@pytest.mark.parametrize("icc", [False, True], ids=["plain", "with-icc-profile"])
def test_an_upload_is_stored_and_served_upright_without_metadata(
    api_as: ApiAs, org_token: str, icc: bool
) -> None:
    original = _camera_jpeg(icc)
    sent = Image.open(io.BytesIO(original))
    assert sent.getexif().get_ifd(GPS_IFD) and sent.getexif()[ORIENTATION] == 6  # as sent
    response = _upload(api_as(org_token), original)
    assert response.status_code == 201, response.text
    body = response.json()
    served = httpx.get(body["url"])
    assert served.status_code == 200
    name = body["url"].rsplit("/", 1)[-1]
    assert name == hashlib.sha256(served.content).hexdigest() + ".jpg"  # content-addressed
    key = body["url"].split("/media/", 1)[1]
    assert (get_settings().media_root / key).read_bytes() == served.content  # stored = served
    assert body["bytes"] == len(served.content) and body["content_type"] == "image/jpeg"
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0 and not image.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    for trace in (b"Exif", b"SpyCam", b"xmpmeta", b"GPS", b"home"):
        assert trace not in served.content
    # Turned as the orientation said: now 200x300, the left (red) half on top.
    assert (image.width, image.height) == (body["width"], body["height"]) == (200, 300)
    rgb = image.convert("RGB")
    top, bottom = rgb.getpixel((100, 40)), rgb.getpixel((100, 260))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 180 and top[2] < 80 and bottom[2] > 180 and bottom[0] < 80, (top, bottom)


def test_a_png_upload_keeps_its_format_and_transparency_but_not_its_text(
    api_as: ApiAs, org_token: str
) -> None:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at home")
    out = io.BytesIO()
    Image.new("RGBA", (80, 60), (0, 128, 0, 100)).save(out, "PNG", pnginfo=text)
    body = _upload(api_as(org_token), out.getvalue(), "image/png").json()
    assert body["url"].endswith(".png") and body["content_type"] == "image/png"
    served = httpx.get(body["url"]).content
    assert body["url"].rsplit("/", 1)[-1] == hashlib.sha256(served).hexdigest() + ".png"
    image = Image.open(io.BytesIO(served))
    assert image.mode == "RGBA" and image.getpixel((5, 5)) == (0, 128, 0, 100)
    assert "Comment" not in image.info and b"taken at home" not in served


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (_png_bomb(), 422, "image_too_many_pixels"),
        (b"%PDF-1.4 not an image at all", 422, "image_not_an_image"),
        (_gif(), 422, "image_format_not_allowed"),
    ],
)
def test_unsafe_uploads_are_refused_with_a_clear_error(
    api_as: ApiAs, org_token: str, data: bytes, status: int, code: str
) -> None:
    response = _upload(api_as(org_token), data, "application/octet-stream")
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    assert row_counts()["briefs"] == 0


def test_a_50_megabyte_upload_is_refused_before_it_is_read(api_as: ApiAs, org_token: str) -> None:
    response = _upload(api_as(org_token), b"\xff\xd8" + b"\0" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["error_code"] == "payload_too_large"


def test_a_brief_may_not_use_another_organizations_upload(
    api_as: ApiAs, org_token: str, other_org_token: str
) -> None:
    upload_id = _upload(api_as(org_token), _jpeg()).json()["id"]
    body = brief(template="photo", photo_upload_id=upload_id)
    refused = api_as(other_org_token).post("/api/v1/briefs", json=body)
    assert refused.status_code == 422
    assert refused.json()["error_code"] == "unknown_upload"
    assert api_as(org_token).post("/api/v1/briefs", json=body).status_code == 202


def test_the_photo_template_needs_a_photo(api_as: ApiAs, org_token: str) -> None:
    response = api_as(org_token).post("/api/v1/briefs", json=brief(template="photo"))
    assert response.status_code == 422
    assert row_counts()["briefs"] == 0


def test_a_logo_is_normalised_to_png_on_the_brand_voice(
    live: Live, api_as: ApiAs, org_token: str
) -> None:
    client = api_as(org_token)
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
