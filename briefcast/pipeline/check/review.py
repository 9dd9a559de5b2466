"""Reviewing copy the gate stopped: approve (optionally with edits, checked again) or reject.

The gate's human half, for the API (async). An approval resumes the run where it stopped
(rendering) through the outbox like any event: its row is relayed once the request's
transaction commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.models.events import RUN_APPROVED, run_event_payload
from briefcast.models.posts import Post
from briefcast.models.repositories import outbox as outbox_repo
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.repositories import voices
from briefcast.models.runs import RunStatus
from briefcast.pipeline.check.gate import GateRules, judge, rules_for
from briefcast.pipeline.copy.model import PlatformCopy
from briefcast.pipeline.copy.rules import full_text, violations
from briefcast.pipeline.copy.variants import keep_variants


class ReviewRefusedError(Exception):
    """The review cannot be applied: `code` says why, `details` what to look at."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


async def review_run(
    session: AsyncSession,
    org_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    approve: bool,
    edits: Mapping[str, Mapping[str, Any]],
    note: str,
    floor: float,
) -> str:
    """Apply a review in the request's transaction; the run's status afterwards.

    `edits` are by platform, each the copy fields a person changed.
    """
    run = await runs_repo.lock_for_review(session, org_id, run_id)
    if run is None:
        raise ReviewRefusedError("run_not_found", f"No run {run_id}.")
    if run.status != RunStatus.NEEDS_REVIEW:
        message = f"The run is {run.status}, not waiting for review."
        raise ReviewRefusedError("run_not_in_review", message, {"status": run.status})
    posts = await posts_repo.of_run_async(session, run_id)
    said = f": {note}" if note else ""
    if not approve:
        run.status = RunStatus.REJECTED
        run.status_reason = f"rejected at review{said}"
        return run.status
    if unknown := set(edits) - {post.platform for post in posts}:
        raise ReviewRefusedError(
            "unknown_platform", "Edits name a platform this run does not post to.",
            {"platforms": sorted(unknown)},
        )  # fmt: skip
    edited = {post.platform: _edited(post, edits.get(post.platform)) for post in posts}
    rules = rules_for(await voices.of_run(session, run_id), floor)
    if problems := await anyio.to_thread.run_sync(_recheck, edited, rules):
        raise ReviewRefusedError(
            "edited_copy_rejected", "The edited copy does not pass the gate.",
            {"reasons": problems},
        )  # fmt: skip
    for post in posts:
        keep_variants(post, [edited[post.platform].model_dump(exclude={"platform"})])
    run.status = RunStatus.RENDERING
    run.status_reason = f"approved at review{said}"
    payload = run_event_payload(run.id, [post.id for post in posts])
    await outbox_repo.add_to_relay(session, RUN_APPROVED, payload)
    return run.status


def _edited(post: Post, changes: Mapping[str, Any] | None) -> PlatformCopy:
    changes = changes or {}
    return PlatformCopy(
        platform=post.platform,
        caption=changes.get("caption", post.caption or ""),
        hashtags=changes.get("hashtags", list(post.hashtags)),
        headline=changes.get("headline", post.headline or ""),
        alt_text=changes.get("alt_text", post.alt_text or ""),
    )


def _recheck(edited: dict[str, PlatformCopy], rules: GateRules) -> list[str]:
    """The gate's rules and the platform rules, on the copy as a person edited it."""
    problems = []
    for platform, copy in edited.items():
        problems += violations(copy)
        problems += [f"{platform}: {r}" for r in judge(full_text(copy), rules).reasons]
    return problems
