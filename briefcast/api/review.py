"""Reviewing copy the gate stopped: approve (optionally with edits, checked again) or reject.

An approval resumes the run where it stopped (rendering), through the outbox like any event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from briefcast.api.errors import ApiError
from briefcast.api.schemas.briefs import Text
from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import Platform, Post
from briefcast.models.repositories.ingest import RUN_APPROVED, run_event_payload
from briefcast.models.runs import Brief, Run, RunStatus
from briefcast.models.tenancy import BrandVoice
from briefcast.pipeline.check.gate import GateRules, judge
from briefcast.pipeline.copy.model import PlatformCopy
from briefcast.pipeline.copy.rules import full_text, violations


class CopyEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caption: Text(1, 3000) | None = None  # type: ignore[valid-type]
    hashtags: list[Text(1, 100)] | None = Field(default=None, max_length=30)  # type: ignore[valid-type]
    headline: Text(1, 300) | None = None  # type: ignore[valid-type]
    alt_text: Text(1, 1000) | None = None  # type: ignore[valid-type]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    edits: dict[Platform, CopyEdit] = Field(
        default_factory=dict, max_length=len(Platform), description="By platform."
    )
    note: Text(0, 1000) = ""  # type: ignore[valid-type]


@dataclass(frozen=True)
class ReviewResult:
    status: str
    outbox_id: int | None
    post_ids: list[uuid.UUID]


async def review_run(
    session: AsyncSession, org_id: uuid.UUID, run_id: uuid.UUID, body: ReviewIn, floor: float
) -> ReviewResult:
    """Apply a review in the caller's transaction; the caller commits, then relays."""
    run = (
        await session.scalars(
            select(Run).where(Run.id == run_id, Run.organization_id == org_id).with_for_update()
        )
    ).first()
    if run is None:
        raise ApiError(404, "run_not_found", f"No run {run_id}.")
    if run.status != RunStatus.NEEDS_REVIEW:
        message = f"The run is {run.status}, not waiting for review."
        raise ApiError(409, "run_not_in_review", message, {"status": run.status})
    posts = list(await session.scalars(select(Post).where(Post.run_id == run_id)))
    if body.decision == "reject":
        run.status = RunStatus.REJECTED
        run.status_reason = f"rejected at review{': ' + body.note if body.note else ''}"
        return ReviewResult(run.status, None, [])
    if unknown := set(body.edits) - {post.platform for post in posts}:
        raise ApiError(422, "unknown_platform", "Edits name a platform this run does not post to.",
                       {"platforms": sorted(unknown)})  # fmt: skip
    edited = {
        post.platform: _edited(post, body.edits.get(Platform(post.platform))) for post in posts
    }
    rules = await _rules(session, run)
    problems = await run_in_threadpool(_recheck, edited, rules, floor)
    if problems:
        raise ApiError(422, "edited_copy_rejected", "The edited copy does not pass the gate.",
                       {"reasons": problems})  # fmt: skip
    for post in posts:
        copy = edited[post.platform]
        post.caption, post.hashtags = copy.caption, copy.hashtags
        post.headline, post.alt_text = copy.headline, copy.alt_text
        post.copy_variants = [copy.model_dump(exclude={"platform"})]
    run.status = RunStatus.RENDERING
    run.status_reason = f"approved at review{': ' + body.note if body.note else ''}"
    event = OutboxMessage(
        topic=RUN_APPROVED, payload=run_event_payload(run.id, [p.id for p in posts])
    )
    session.add(event)
    await session.flush()
    return ReviewResult(run.status, event.id, [p.id for p in posts])


def _edited(post: Post, edit: CopyEdit | None) -> PlatformCopy:
    changes = edit.model_dump(exclude_none=True) if edit else {}
    return PlatformCopy(
        platform=post.platform,
        caption=changes.get("caption", post.caption or ""),
        hashtags=changes.get("hashtags", list(post.hashtags)),
        headline=changes.get("headline", post.headline or ""),
        alt_text=changes.get("alt_text", post.alt_text or ""),
    )


async def _rules(session: AsyncSession, run: Run) -> GateRules | None:
    brief = await session.get(Brief, run.brief_id)
    if brief is None or brief.brand_voice_id is None:
        return None
    voice = await session.get(BrandVoice, brief.brand_voice_id)
    if voice is None:
        return None
    return GateRules(voice.sentiment_min, tuple(voice.avoid_words), tuple(voice.competitors))


def _recheck(edited: dict[str, PlatformCopy], rules: GateRules | None, floor: float) -> list[str]:
    """The gate's rules and the platform rules, on the copy as a person edited it."""
    rules = rules or GateRules(sentiment_min=floor)
    problems = []
    for platform, copy in edited.items():
        problems += violations(copy)
        problems += [f"{platform}: {r}" for r in judge(full_text(copy), rules).reasons]
    return problems
