"""Accepting a brief: one transaction for brief, run, posts and outbox row; relay after commit."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.api.errors import ApiError
from briefcast.api.schemas import BriefIn
from briefcast.models.media import MediaUpload
from briefcast.models.repositories import ingest, voices
from briefcast.models.runs import Brief

DEFAULT_COLOR = "#1F4E79"


@dataclass(frozen=True)
class Intake:
    run_id: uuid.UUID
    brief_id: uuid.UUID
    status: str
    replayed: bool
    outbox_id: int | None = None
    post_ids: tuple[uuid.UUID, ...] = ()


def request_hash(body: BriefIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _replay(session: AsyncSession, org_id: uuid.UUID, key: str, digest: str) -> Intake | None:
    found = await ingest.find_by_idempotency_key(session, org_id, key)
    if found is None:
        return None
    brief, run = found
    if brief.request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different brief.",
            {"idempotency_key": key, "run_id": str(run.id)},
        )
    return Intake(run_id=run.id, brief_id=brief.id, status=run.status, replayed=True)


async def submit_brief(
    session: AsyncSession, org_id: uuid.UUID, body: BriefIn, idempotency_key: str | None
) -> Intake:
    """Stage the brief's rows in the session; the caller commits, then relays the outbox row."""
    digest = request_hash(body)
    if idempotency_key and (replay := await _replay(session, org_id, idempotency_key, digest)):
        return replay
    voice = None
    if body.brand_voice_id is not None:
        voice = await voices.get(session, org_id, body.brand_voice_id)
        if voice is None:
            raise ApiError(
                422,
                "unknown_brand_voice",
                "The brief names a brand voice this organization does not have.",
                {"brand_voice_id": str(body.brand_voice_id)},
            )
    if body.photo_upload_id is not None:
        upload = await session.get(MediaUpload, body.photo_upload_id)
        if upload is None or upload.organization_id != org_id:
            raise ApiError(
                422,
                "unknown_upload",
                "The brief names a photo upload this organization does not have.",
                {"photo_upload_id": str(body.photo_upload_id)},
            )
    # The brief's own words win; the brand voice fills in what the brief left out.
    given = body.model_fields_set
    brief = Brief(
        organization_id=org_id,
        brand_voice_id=body.brand_voice_id,
        variants=body.variants,
        template=body.template,
        quote=body.quote,
        attribution=body.attribution,
        photo_upload_id=body.photo_upload_id,
        photo_url=str(body.photo_url) if body.photo_url else None,
        topic=body.topic,
        key_points=body.key_points,
        brand_voice=voice.tone if voice and "brand_voice" not in given else body.brand_voice,
        audience=voice.audience if voice and not body.audience else body.audience,
        brand_color=(body.brand_color or (voice and voice.primary_color) or DEFAULT_COLOR).upper(),
        platforms=[p.value for p in body.platforms],
        publish_at=body.publish_at,
        idempotency_key=idempotency_key,
        request_hash=digest,
    )
    try:
        async with session.begin_nested():
            accepted = await ingest.insert_brief_run(session, brief)
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its run.
        if idempotency_key and (replay := await _replay(session, org_id, idempotency_key, digest)):
            return replay
        raise
    return Intake(
        run_id=accepted.run_id,
        brief_id=accepted.brief_id,
        status="accepted",
        replayed=False,
        outbox_id=accepted.outbox_id,
        post_ids=tuple(accepted.post_ids),
    )
