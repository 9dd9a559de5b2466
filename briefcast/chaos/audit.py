"""After a drill: PostgreSQL's view of every run and post against what the sandboxes hold.

A post is matched to platform posts by its platform post id and by caption (Instagram keeps
the caption as sent; LinkedIn's request body is the little-text-escaped caption, kept by the
sandbox as `sent_commentary`). Three kinds of failure:

- LOST: a run not terminal at the end, or failed without saying why;
- DUPLICATE: one of our posts exists more than once on a platform;
- MISMATCH: published here but absent there (or under another id), not published here but
  present there, or a platform post that matches none of ours.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from briefcast.models.posts import Post, PostAttempt, PostStatus
from briefcast.models.runs import TERMINAL_RUN_STATUSES, Run, RunStatus
from briefcast.pipeline.adapters.linkedin import escape_little_text

# Statuses no drill can move on: they wait for a person (review, reconnect). Not lost.
PARKED_RUN_STATUSES = frozenset({RunStatus.NEEDS_REVIEW, RunStatus.NEEDS_RECONNECT})
SETTLED_RUN_STATUSES = TERMINAL_RUN_STATUSES | PARKED_RUN_STATUSES


@dataclass
class Audit:
    runs_by_status: Counter[str] = field(default_factory=Counter)
    posts_by_status: Counter[str] = field(default_factory=Counter)
    attempts_by_outcome: Counter[str] = field(default_factory=Counter)
    # Why posts that did not publish stopped (allowed, as long as the platform agrees).
    failure_reasons: Counter[str] = field(default_factory=Counter)
    sandbox_posts: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    # Platform posts matched to each of our posts (by id or caption): 1 if published, else 0.
    matches: dict[uuid.UUID, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.mismatches)


def _caption_key(platform: str, caption: str) -> str:
    return escape_little_text(caption) if platform == "linkedin" else caption


def _sandbox_caption(platform: str, item: dict[str, Any]) -> str:
    return str(item["sent_commentary"] if platform == "linkedin" else item.get("caption") or "")


def audit(session: Session, sandbox_posts: dict[str, list[dict[str, Any]]]) -> Audit:
    """Compare every run and post in the database with `sandbox_posts` (per platform)."""
    result = Audit()
    runs = {run.id: run for run in session.scalars(select(Run))}
    for run in runs.values():
        result.runs_by_status[run.status] += 1
        if run.status not in SETTLED_RUN_STATUSES:
            result.lost.append(f"run {run.id} still {run.status}")
        elif run.status == RunStatus.FAILED and not (run.status_reason or "").strip():
            result.lost.append(f"run {run.id} failed without a reason")
    outcomes = select(PostAttempt.outcome, func.count()).group_by(PostAttempt.outcome)
    result.attempts_by_outcome.update(dict(session.execute(outcomes).all()))

    by_id: dict[str, dict[str, dict[str, Any]]] = {}
    by_caption: dict[str, dict[str, list[str]]] = {}
    for platform, items in sandbox_posts.items():
        result.sandbox_posts[platform] = len(items)
        by_id[platform] = {str(item["id"]): item for item in items}
        by_caption[platform] = defaultdict(list)
        for item in items:
            by_caption[platform][_sandbox_caption(platform, item)].append(str(item["id"]))

    claimed: dict[str, set[str]] = defaultdict(set)  # platform → sandbox ids matched by a post
    for post in session.scalars(select(Post).order_by(Post.created_at)):
        result.posts_by_status[post.status] += 1
        if post.status not in (PostStatus.PUBLISHED, PostStatus.PENDING):
            reason = f"{post.platform} {post.status}: {post.status_reason}"
            result.failure_reasons[reason[:110]] += 1
        if post.platform not in by_id:
            result.mismatches.append(f"post {post.id}: no sandbox for {post.platform}")
            continue
        found: set[str] = set()
        if post.platform_post_id and post.platform_post_id in by_id[post.platform]:
            found.add(post.platform_post_id)
        if post.caption:
            key = _caption_key(post.platform, post.caption)
            found.update(by_caption[post.platform].get(key, []))
        claimed[post.platform] |= found
        result.matches[post.id] = len(found)
        label = f"{post.platform} post {post.id} (run {post.run_id}, {post.status})"
        if len(found) > 1:
            result.duplicates.append(f"{label}: {len(found)} platform posts {sorted(found)}")
        if runs[post.run_id].status not in SETTLED_RUN_STATUSES:
            continue  # in flight: counted as lost above, its outcome is not known yet
        if post.status == PostStatus.PUBLISHED:
            if post.platform_post_id not in found:
                where = f"holds {sorted(found)}" if found else "holds nothing"
                result.mismatches.append(
                    f"{label}: published as {post.platform_post_id} but the platform {where}"
                )
        elif found:
            result.mismatches.append(f"{label}: not published here, the platform holds {found}")

    for platform, held in by_id.items():
        for orphan in sorted(set(held) - claimed[platform]):
            result.mismatches.append(f"{platform} post {orphan} matches none of ours")
    return result
