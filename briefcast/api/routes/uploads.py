"""Image uploads: photos for the photo template, and a brand voice's logo.

The body is the image itself (`Content-Type: image/jpeg|png|webp`). It is checked before it
is kept: byte limit, format allow-list, pixel limit (decompression bombs), a clean decode.
Then it is stood upright (EXIF orientation) and re-encoded from its pixels alone, so no EXIF
(GPS position, camera), XMP, colour profile or comment is stored or served; it is stored
under the sha256 of the re-encoded bytes.
"""

from __future__ import annotations

import io
import re
import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from briefcast.api.deps import PrincipalDep, SessionDep, SettingsDep
from briefcast.api.errors import ApiError
from briefcast.api.ratelimit import IMAGES_LIMIT
from briefcast.api.roles import EDITOR
from briefcast.api.schemas.voices import BrandVoiceOut
from briefcast.models.media import MediaUpload
from briefcast.models.repositories import voices
from briefcast.pipeline.render.safety import UnsafeImageError, clean_upload, load_logo
from briefcast.pipeline.render.storage import LocalMediaStore
from briefcast.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["uploads"])
# The request bodies allowed to be megabytes rather than kilobytes.
UPLOAD_PATHS = re.compile(r"/api/v1/uploads|/api/v1/brand-voices/[^/]+/logo")


class UploadOut(BaseModel):
    id: uuid.UUID
    url: str
    content_type: str
    bytes: int
    width: int
    height: int


def _store(settings: Settings) -> LocalMediaStore:
    return LocalMediaStore(settings.media_root)


def _media_url(settings: Settings, key: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/media/{key}"


def _refused(exc: UnsafeImageError) -> ApiError:
    return ApiError(422, f"image_{exc.code}", str(exc), {"reason": exc.code})


@router.post(
    "/uploads", status_code=201, response_model=UploadOut, dependencies=[EDITOR, IMAGES_LIMIT]
)
async def upload_photo(
    request: Request, principal: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> UploadOut:
    data = await request.body()
    try:
        photo = await run_in_threadpool(
            clean_upload,
            data,
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_upload_pixels,
        )
    except UnsafeImageError as exc:
        raise _refused(exc) from exc
    key = await run_in_threadpool(_store(settings).put, photo.data, photo.suffix)
    upload = MediaUpload(
        organization_id=principal.organization_id,
        media_key=key,
        content_type=photo.content_type,
        bytes=len(photo.data),
        width=photo.width,
        height=photo.height,
    )
    session.add(upload)
    await session.commit()
    return UploadOut(
        id=upload.id,
        url=_media_url(settings, key),
        content_type=upload.content_type,
        bytes=upload.bytes,
        width=upload.width,
        height=upload.height,
    )


@router.put(
    "/brand-voices/{voice_id}/logo",
    response_model=BrandVoiceOut,
    dependencies=[EDITOR, IMAGES_LIMIT],
)
async def upload_logo(
    voice_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> BrandVoiceOut:
    voice = await voices.get(session, principal.organization_id, voice_id)
    if voice is None:
        raise ApiError(404, "brand_voice_not_found", f"No brand voice {voice_id}.")
    try:
        logo = await run_in_threadpool(load_logo, await request.body())
    except UnsafeImageError as exc:
        raise _refused(exc) from exc
    out = io.BytesIO()
    logo.save(out, format="PNG")  # normalised: RGBA PNG, no metadata
    key = await run_in_threadpool(_store(settings).put, out.getvalue(), ".png")
    voice = await voices.update(session, voice, {"logo_key": key})
    await session.commit()
    return BrandVoiceOut.model_validate(voice)
