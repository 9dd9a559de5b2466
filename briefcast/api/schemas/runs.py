"""What the API says about runs: accepted, and the full view with posts and timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class RunLinks(BaseModel):
    self: str


class RunAccepted(BaseModel):
    run_id: uuid.UUID
    brief_id: uuid.UUID
    status: str
    links: RunLinks


class StageOut(BaseModel):
    stage: str
    subject: str
    outcome: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    detail: dict[str, Any]


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: str
    status: str
    status_reason: str | None
    caption: str | None
    hashtags: list[str]
    headline: str | None
    alt_text: str | None
    copy_source: str | None
    sentiment: float | None
    image_url: str | None = None
    scheduled_at: datetime | None
    published_at: datetime | None
    publish_attempts: int
    platform_post_id: str | None
    permalink: str | None


class BriefSummary(BaseModel):
    id: uuid.UUID
    topic: str
    platforms: list[str]
    publish_at: datetime | None


class RunOut(BaseModel):
    id: uuid.UUID
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    brief: BriefSummary
    posts: list[PostOut]
    timeline: list[StageOut]


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str]
