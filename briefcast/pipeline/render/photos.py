"""Getting the photo a brief supplies: from an upload, or from a URL with an upload's limits."""

from __future__ import annotations

from PIL import Image

from briefcast.pipeline.render import safe_fetch
from briefcast.pipeline.render.safety import UnsafeImageError, load_photo
from briefcast.pipeline.render.storage import MediaStore


class PhotoUnavailableError(Exception):
    """The brief's photo cannot be used; the run fails with this reason, nothing is posted."""


def fetch(
    url: str, max_bytes: int, timeout_s: float, allowed: safe_fetch.AllowList | None = None
) -> bytes:
    """Only from public addresses (or the allow-list), never over the size or time limits."""
    try:
        return safe_fetch.fetch(url, max_bytes=max_bytes, timeout_s=timeout_s, allowed=allowed)
    except safe_fetch.FetchError as exc:
        raise PhotoUnavailableError(str(exc)) from exc


def load(
    store: MediaStore,
    *,
    upload_key: str | None,
    url: str | None,
    max_bytes: int,
    max_pixels: int,
    timeout_s: float,
    allowed: safe_fetch.AllowList | None = None,
) -> Image.Image:
    data = store.get(upload_key) if upload_key else fetch(url or "", max_bytes, timeout_s, allowed)
    try:
        return load_photo(data, max_bytes=max_bytes, max_pixels=max_pixels)
    except UnsafeImageError as exc:
        raise PhotoUnavailableError(f"the brief's photo was refused: {exc}") from exc
