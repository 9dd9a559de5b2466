"""Images people upload for the render stage: photos for the photo template, a brand voice's
logo for its brand kit.

An image is kept only once checked and re-encoded from its pixels alone (`safety`), under the
sha256 of the new bytes (`storage`); then it is recorded: a photo as an upload of its
organization, a logo on its brand voice. The image work runs in a worker thread, off the
API's event loop. A refused image raises `safety.UnsafeImageError` with the reason.
"""

from __future__ import annotations

import io
import uuid
from functools import partial

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.models.media import MediaUpload
from briefcast.models.repositories import media as media_repo
from briefcast.models.repositories import voices
from briefcast.models.tenancy import BrandVoice
from briefcast.pipeline.render.safety import clean_upload, load_logo
from briefcast.pipeline.render.storage import MediaStore


async def add_photo(
    session: AsyncSession,
    org_id: uuid.UUID,
    data: bytes,
    store: MediaStore,
    *,
    max_bytes: int,
    max_pixels: int,
) -> MediaUpload:
    clean = partial(clean_upload, data, max_bytes=max_bytes, max_pixels=max_pixels)
    photo = await anyio.to_thread.run_sync(clean)
    key = await anyio.to_thread.run_sync(store.put, photo.data, photo.suffix)
    return await media_repo.add(
        session, org_id, key, photo.content_type, len(photo.data), photo.width, photo.height
    )


async def set_logo(
    session: AsyncSession, org_id: uuid.UUID, voice_id: uuid.UUID, data: bytes, store: MediaStore
) -> BrandVoice | None:
    """The brand voice with its new logo; None when the organization has no such voice."""
    voice = await voices.get(session, org_id, voice_id)
    if voice is None:
        return None
    png = await anyio.to_thread.run_sync(_logo_png, data)
    key = await anyio.to_thread.run_sync(store.put, png, ".png")
    return await voices.update(session, voice, {"logo_key": key})


def _logo_png(data: bytes) -> bytes:
    out = io.BytesIO()
    load_logo(data).save(out, format="PNG")  # normalised: RGBA PNG, no metadata
    return out.getvalue()
