"""Getting the photo a brief supplies: from an upload, or from a URL with an upload's limits."""

from __future__ import annotations

import httpx
from PIL import Image

from briefcast.pipeline.render.safety import UnsafeImageError, load_photo
from briefcast.pipeline.render.storage import MediaStore


class PhotoUnavailableError(Exception):
    """The brief's photo cannot be used; the run fails with this reason, nothing is posted."""


def fetch(url: str, max_bytes: int, timeout_s: float) -> bytes:
    """Stream the body, stopping as soon as it is over the limit (never buffer a huge file)."""
    try:
        with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as response:
            if response.status_code != 200:
                raise PhotoUnavailableError(f"{url} answered HTTP {response.status_code}")
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise PhotoUnavailableError(f"{url} is over the limit of {max_bytes} bytes")
            return bytes(data)
    except httpx.HTTPError as exc:
        raise PhotoUnavailableError(f"{url} could not be fetched: {exc}") from exc


def load(
    store: MediaStore,
    *,
    upload_key: str | None,
    url: str | None,
    max_bytes: int,
    max_pixels: int,
    timeout_s: float,
) -> Image.Image:
    data = store.get(upload_key) if upload_key else fetch(url or "", max_bytes, timeout_s)
    try:
        return load_photo(data, max_bytes=max_bytes, max_pixels=max_pixels)
    except UnsafeImageError as exc:
        raise PhotoUnavailableError(f"the brief's photo was refused: {exc}") from exc
