"""Image uploads: photos for the photo template, and a brand voice's logo.

The body is the image itself (`Content-Type: image/jpeg|png|webp`). It is checked before it
is kept: byte limit, format allow-list, pixel limit (decompression bombs), a clean decode.
Then it is stood upright (EXIF orientation) and re-encoded from its pixels alone, so no EXIF
(GPS position, camera), XMP, colour profile or comment is stored or served; it is stored
under the sha256 of the re-encoded bytes (`pipeline.render.uploads`).
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel

from briefcast.api.deps import PrincipalDep, SessionDep, SettingsDep
from briefcast.api.errors import ApiError
from briefcast.api.ratelimit import IMAGES_LIMIT
from briefcast.api.roles import EDITOR
from briefcast.api.schemas.voices import BrandVoiceOut
from briefcast.pipeline.render import uploads
from briefcast.pipeline.render.safety import UnsafeImageError
from briefcast.pipeline.render.storage import LocalMediaStore, media_url
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


def _refused(exc: UnsafeImageError) -> ApiError:
    return ApiError(422, f"image_{exc.code}", str(exc), {"reason": exc.code})


@router.post(
    "/uploads", status_code=201, response_model=UploadOut, dependencies=[EDITOR, IMAGES_LIMIT]
)
async def upload_photo(
    request: Request, principal: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> UploadOut:
    try:
        upload = await uploads.add_photo(
            session,
            principal.organization_id,
            await request.body(),
            _store(settings),
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_upload_pixels,
        )
    except UnsafeImageError as exc:
        raise _refused(exc) from exc
    return UploadOut(
        id=upload.id,
        url=media_url(settings.public_base_url, upload.media_key),
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
    try:
        voice = await uploads.set_logo(
            session, principal.organization_id, voice_id, await request.body(), _store(settings)
        )
    except UnsafeImageError as exc:
        raise _refused(exc) from exc
    if voice is None:
        raise ApiError(404, "brand_voice_not_found", f"No brand voice {voice_id}.")
    return BrandVoiceOut.model_validate(voice)
