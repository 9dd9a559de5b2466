"""What the API says about runs (accepted, the full view with posts and timeline), and the
review a person sends for copy the gate stopped."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from briefcast.api.schemas.text import PLAIN, PLAIN_OR_BLANK, Len
from briefcast.models.posts import Platform


class RunLinks(BaseModel):
    self: str


class RunAccepted(BaseModel):
    run_id: uuid.UUID
    brief_id: uuid.UUID
    status: str
    links: RunLinks


class StageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage: str
    subject: str
    outcome: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    detail: dict[str, Any]


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    kind: str  # "publish" or "reconcile"
    outcome: str
    started_at: datetime
    finished_at: datetime | None
    container_id: str | None
    platform_post_id: str | None
    error: str | None


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
    copy_variants: list[dict[str, Any]]
    sentiment: float | None
    image_url: str | None = None
    scheduled_at: datetime | None
    published_at: datetime | None
    publish_attempts: int
    reconcile_attempts: int
    attempts: list[AttemptOut] = Field(default_factory=list)
    platform_post_id: str | None
    permalink: str | None


class BriefSummary(BaseModel):
    id: uuid.UUID
    topic: str
    platforms: list[str]
    publish_at: datetime | None


class CopyInfo(BaseModel):
    """Who wrote the copy, why a fallback was taken, and how often the gate sent it back."""

    source: str | None
    fallback_reason: str | None
    regenerations: int
    feedback: list[str]


class UsageOut(BaseModel):
    since: datetime
    until: datetime | None = Field(default=None, description="End of the month (exclusive).")
    calls: int
    cached_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    budget_usd: Decimal | None = None
    budget_left_usd: Decimal | None = None


class RunOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    status: str
    status_reason: str | None
    copy_info: CopyInfo = Field(alias="copy")
    usage: UsageOut
    created_at: datetime
    updated_at: datetime
    brief: BriefSummary
    posts: list[PostOut]
    timeline: list[StageOut]


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str]


class CopyEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caption: Annotated[str, Len(1, 3000), PLAIN] | None = None
    hashtags: list[Annotated[str, Len(1, 100), PLAIN]] | None = Field(default=None, max_length=30)
    headline: Annotated[str, Len(1, 300), PLAIN] | None = None
    alt_text: Annotated[str, Len(1, 1000), PLAIN] | None = None


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    edits: dict[Platform, CopyEdit] = Field(
        default_factory=dict, max_length=len(Platform), description="By platform."
    )
    note: Annotated[str, Len(0, 1000), PLAIN_OR_BLANK] = ""


class ReviewOut(BaseModel):
    run_id: uuid.UUID
    status: str
