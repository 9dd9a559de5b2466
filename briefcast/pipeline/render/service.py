"""Render stage: one image per post, on brand, stored by content hash with its alt text."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from briefcast.models.repositories import briefs as briefs_repo
from briefcast.models.repositories import media as media_repo
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.repositories import voices
from briefcast.models.runs import Brief, RunStatus, StageOutcome
from briefcast.models.tenancy import BrandVoice
from briefcast.observability import metrics
from briefcast.pipeline.render import photos
from briefcast.pipeline.render.kit import (
    DEFAULT_FORMAT,
    FORMATS,
    BrandKit,
    CardContent,
    is_template,
)
from briefcast.pipeline.render.safe_fetch import AllowList
from briefcast.pipeline.render.storage import MediaStore
from briefcast.pipeline.render.templates import render_card

STAGE = "render"


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int
    max_pixels: int
    timeout_s: float
    # Hosts a photo_url may name although they are private (PHOTO_FETCH_ALLOWED_HOSTS).
    allowed: AllowList = field(default_factory=AllowList)


def brand_kit(brief: Brief, voice: BrandVoice | None, store: MediaStore) -> BrandKit:
    if voice is None:
        return BrandKit(primary_color=brief.brand_color)
    return BrandKit(
        primary_color=brief.brand_color,
        secondary_color=voice.secondary_color,
        font=voice.font,
        logo_png=store.get(voice.logo_key) if voice.logo_key else None,  # checked at upload
        grade=voice.grade,
    )


def render_post_image(
    session: Session, post_id: uuid.UUID, store: MediaStore, limits: PhotoLimits
) -> str | None:
    """Render and store the post's image; returns the media key, None if the run is halted."""
    post = posts_repo.get(session, post_id, lock=True)
    if post is None:
        return None
    run = runs_repo.get(session, post.run_id)
    assert run is not None
    if run.status != RunStatus.RENDERING:
        return None
    brief = briefs_repo.get(session, run.brief_id)
    assert brief is not None
    voice = voices.get_by_id(session, brief.brand_voice_id) if brief.brand_voice_id else None
    runs_repo.start_stage(session, run.id, STAGE, post.platform)
    photo = None
    if brief.template == "photo":
        upload = media_repo.get(session, brief.photo_upload_id) if brief.photo_upload_id else None
        photo = photos.load(
            store,
            upload_key=upload.media_key if upload else None,
            url=brief.photo_url,
            max_bytes=limits.max_bytes,
            max_pixels=limits.max_pixels,
            timeout_s=limits.timeout_s,
            allowed=limits.allowed,
        )
    fmt = FORMATS[DEFAULT_FORMAT[post.platform]]
    content = CardContent(
        headline=post.headline or brief.topic,
        quote=brief.quote,
        attribution=brief.attribution,
        alt_text=post.alt_text or brief.topic,
    )
    with metrics.RENDER_SECONDS.labels(brief.template, fmt.name).time():
        template = brief.template
        if not is_template(template):  # the API takes only known names
            raise ValueError(f"unknown template {template!r}")  # as render_card would
        image = render_card(template, fmt, content, brand_kit(brief, voice, store), photo)
    key = store.put(image.data)
    facts = {"alt_text": image.alt_text, "width": image.width, "height": image.height,
             "format": fmt.name, "template": brief.template, "effects": image.effects}  # fmt: skip
    store.put_beside(key, ".json", json.dumps(facts).encode())  # the alt text beside the image
    post.image_path = key
    runs_repo.finish_stage(
        session,
        run.id,
        STAGE,
        StageOutcome.SUCCEEDED,
        {"image": key, "bytes": len(image.data), **facts},
        post.platform,
    )
    return key
