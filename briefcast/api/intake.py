"""Accepting a brief: brief, run, posts and outbox row in one statement; relay after commit.

The common case (no brand voice, no uploaded photo) is one round trip to PostgreSQL: ids are
chosen here, the organization check is the insert's foreign key, and an Idempotency-Key that
is already taken makes the insert a no-op (`ON CONFLICT DO NOTHING`, which waits out a
concurrent request holding the same key) after which the first request's run is answered.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from briefcast.api.errors import ApiError
from briefcast.api.relay import OutboxRelay
from briefcast.api.request_id import current_request_id
from briefcast.api.schemas import BriefIn
from briefcast.api.schemas.briefs import BEST
from briefcast.models.repositories import briefs, media, tenancy, voices
from briefcast.models.session import autocommit_connection
from briefcast.models.tenancy import BrandVoice
from briefcast.pipeline.campaigns.content import DEFAULT_COLOR


@dataclass(frozen=True)
class Intake:
    run_id: uuid.UUID
    brief_id: uuid.UUID
    status: str
    replayed: bool
    # The committed outbox row to relay (None for a replay).
    event: briefs.AcceptedRun | None = None


def request_hash(body: BriefIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def unknown_organization() -> ApiError:
    return ApiError(403, "unknown_organization", "The token's organization does not exist.")


class BriefIntake:
    """The accept path of one API process: store the brief, then (committed) relay its
    outbox row. Built by the app's lifespan; routes get it as `IntakeDep`."""

    def __init__(self, engine: AsyncEngine, relay: OutboxRelay) -> None:
        self.engine = engine
        self.relay = relay

    async def submit(self, org_id: uuid.UUID, body: BriefIn, idempotency_key: str | None) -> Intake:
        intake = await submit_brief(
            self.engine, org_id, body, idempotency_key, current_request_id()
        )
        # Committed: now, never before, the event goes out (off the request's path).
        if intake.event is not None:
            event = intake.event
            self.relay.submit(event.outbox_id, event.topic, event.payload)
        # The rest of this request's lines (the server's access line) name the run too.
        structlog.contextvars.bind_contextvars(run_id=str(intake.run_id))
        return intake


async def submit_brief(
    engine: AsyncEngine,
    org_id: uuid.UUID,
    body: BriefIn,
    idempotency_key: str | None,
    request_id: str | None = None,
) -> Intake:
    """Store the brief (committed when this returns) or find the run its key stands for;
    a new run keeps `request_id` (its trail's id in every log line of every stage)."""
    digest = request_hash(body)
    async with autocommit_connection(engine) as conn:
        names_rows = body.brand_voice_id is not None or body.photo_upload_id is not None
        # A replay answers with the first run even if the voice or photo is gone since.
        if (
            names_rows
            and idempotency_key
            and (found := await briefs.find_keyed_run(conn, org_id, idempotency_key))
        ):
            return _replay(found, idempotency_key, digest)
        voice = await _tenant_checks(conn, org_id, body) if names_rows else None
        new = _new_brief(org_id, body, voice, idempotency_key, digest)
        for _ in range(2):
            try:
                accepted = await briefs.accept(conn, new, request_id)
            except briefs.UnknownOrganizationError as exc:
                raise unknown_organization() from exc
            if accepted is not None:
                return Intake(
                    run_id=accepted.run_id,
                    brief_id=accepted.brief_id,
                    status="accepted",
                    replayed=False,
                    event=accepted,
                )
            # Only a taken Idempotency-Key inserts nothing; its brief is committed by now.
            assert idempotency_key is not None
            if found := await briefs.find_keyed_run(conn, org_id, idempotency_key):
                return _replay(found, idempotency_key, digest)
            # Deleted in between (its organization's data was purged): insert again.
    raise ApiError(
        409, "idempotency_conflict", "Retry the request.", {"idempotency_key": idempotency_key}
    )


def _replay(found: briefs.KeyedRun, key: str, digest: str) -> Intake:
    if found.request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different brief.",
            {"idempotency_key": key, "run_id": str(found.run_id)},
        )
    return Intake(run_id=found.run_id, brief_id=found.brief_id, status=found.status, replayed=True)


async def _tenant_checks(
    conn: AsyncConnection, org_id: uuid.UUID, body: BriefIn
) -> BrandVoice | None:
    """The brand voice and photo upload a brief names must be its organization's. An unknown
    organization answers 403 rather than 422."""
    voice = None
    if body.brand_voice_id is not None:
        session = AsyncSession(bind=conn)
        try:
            voice = await voices.get(session, org_id, body.brand_voice_id)
        finally:
            await session.close()
        if voice is None:
            if not await tenancy.exists(conn, org_id):
                raise unknown_organization()
            raise ApiError(
                422,
                "unknown_brand_voice",
                "The brief names a brand voice this organization does not have.",
                {"brand_voice_id": str(body.brand_voice_id)},
            )
    if body.photo_upload_id is not None:
        owner = await media.owner(conn, body.photo_upload_id)
        if owner != org_id:
            if not await tenancy.exists(conn, org_id):
                raise unknown_organization()
            raise ApiError(
                422,
                "unknown_upload",
                "The brief names a photo upload this organization does not have.",
                {"photo_upload_id": str(body.photo_upload_id)},
            )
    return voice


def _new_brief(
    org_id: uuid.UUID,
    body: BriefIn,
    voice: BrandVoice | None,
    idempotency_key: str | None,
    digest: str,
) -> briefs.NewBrief:
    # The brief's own words win; the brand voice fills in what the brief left out.
    given = body.model_fields_set
    at = body.publish_at
    color: Any = body.brand_color or (voice and voice.primary_color) or DEFAULT_COLOR
    return briefs.NewBrief(
        id=uuid.uuid4(),
        organization_id=org_id,
        brand_voice_id=body.brand_voice_id,
        variants=body.variants,
        template=body.template,
        quote=body.quote,
        attribution=body.attribution,
        photo_upload_id=body.photo_upload_id,
        photo_url=str(body.photo_url) if body.photo_url else None,
        topic=body.topic,
        key_points=list(body.key_points),
        brand_voice=voice.tone if voice and "brand_voice" not in given else body.brand_voice,
        audience=voice.audience if voice and not body.audience else body.audience,
        brand_color=str(color).upper(),
        platforms=[p.value for p in body.platforms],
        # "best": chosen at the schedule stage, in the brief's time zone (UTC by default).
        publish_at=at if isinstance(at, datetime) else None,
        best_time_zone=(body.timezone or "UTC") if at == BEST else None,
        idempotency_key=idempotency_key,
        request_hash=digest,
    )
