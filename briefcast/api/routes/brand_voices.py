"""Brand voices: create, read, update, list. Another organization's voice is a 404."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from briefcast.api.deps import PrincipalDep, SessionDep
from briefcast.api.errors import ApiError, error_responses
from briefcast.api.roles import EDITOR
from briefcast.api.schemas.patch import nulls_in
from briefcast.api.schemas.voices import (
    BrandVoiceIn,
    BrandVoiceList,
    BrandVoiceOut,
    BrandVoicePatch,
)
from briefcast.models.repositories import voices

router = APIRouter(prefix="/api/v1/brand-voices", tags=["brand voices"])


def _not_found(voice_id: uuid.UUID) -> ApiError:
    return ApiError(404, "brand_voice_not_found", f"No brand voice {voice_id}.")


def _name_taken(name: str | None) -> ApiError:
    return ApiError(
        409, "brand_voice_name_taken", f"A brand voice named {name!r} already exists.",
        {"name": name},
    )  # fmt: skip


@router.post(
    "",
    status_code=201,
    response_model=BrandVoiceOut,
    dependencies=[EDITOR],
    responses=error_responses({409: "brand_voice_name_taken"}),
)
async def create_brand_voice(
    body: BrandVoiceIn, principal: PrincipalDep, session: SessionDep
) -> BrandVoiceOut:
    try:
        voice = await voices.create(session, principal.organization_id, body.model_dump())
    except IntegrityError as exc:
        raise _name_taken(body.name) from exc
    return BrandVoiceOut.model_validate(voice)


@router.get("", response_model=BrandVoiceList)
async def list_brand_voices(principal: PrincipalDep, session: SessionDep) -> BrandVoiceList:
    items = await voices.list_for(session, principal.organization_id)
    return BrandVoiceList(items=[BrandVoiceOut.model_validate(v) for v in items])


@router.get("/{voice_id}", response_model=BrandVoiceOut)
async def get_brand_voice(
    voice_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> BrandVoiceOut:
    voice = await voices.get(session, principal.organization_id, voice_id)
    if voice is None:
        raise _not_found(voice_id)
    return BrandVoiceOut.model_validate(voice)


@router.patch(
    "/{voice_id}",
    response_model=BrandVoiceOut,
    dependencies=[EDITOR],
    responses=error_responses({404: "brand_voice_not_found", 409: "brand_voice_name_taken"}),
)
async def update_brand_voice(
    voice_id: uuid.UUID, body: BrandVoicePatch, principal: PrincipalDep, session: SessionDep
) -> BrandVoiceOut:
    voice = await voices.get(session, principal.organization_id, voice_id)
    if voice is None:
        raise _not_found(voice_id)
    changes = body.model_dump(exclude_unset=True)
    if nulls := nulls_in(changes):
        raise ApiError(422, "validation_error", "Fields cannot be set to null.", {"fields": nulls})
    try:
        voice = await voices.update(session, voice, changes)
    except IntegrityError as exc:
        raise _name_taken(changes.get("name")) from exc
    return BrandVoiceOut.model_validate(voice)
