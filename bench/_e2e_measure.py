"""What `bench.e2e` reads back: run progress and publish times from PostgreSQL, CPU time per
process from /proc, and PostgreSQL against what the sandboxes hold."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from briefcast.chaos.audit import SETTLED_RUN_STATUSES, audit
from briefcast.models.posts import Post, PostStatus
from briefcast.models.runs import Run, RunStatus
from briefcast.stack import Stack

PLATFORMS = ("instagram", "linkedin")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Progress:
    runs: int = 0
    settled: int = 0
    briefs_published: int = 0  # runs whose every post is published
    posts: int = 0
    posts_published: int = 0


def progress(engine: Engine, org_ids: Collection[uuid.UUID]) -> Progress:
    with Session(engine) as session:
        by_status = session.execute(
            select(Run.status, func.count())
            .where(Run.organization_id.in_(org_ids))
            .group_by(Run.status)
        ).all()
        posts_by_status = session.execute(
            select(Post.status, func.count())
            .join(Run, Run.id == Post.run_id)
            .where(Run.organization_id.in_(org_ids))
            .group_by(Post.status)
        ).all()
    runs, posts = Counter(dict(by_status)), Counter(dict(posts_by_status))
    return Progress(
        runs=sum(runs.values()),
        settled=sum(n for s, n in runs.items() if s in SETTLED_RUN_STATUSES),
        briefs_published=runs[RunStatus.PUBLISHED],
        posts=sum(posts.values()),
        posts_published=posts[PostStatus.PUBLISHED],
    )


def runs_stored(engine: Engine, org_ids: Collection[uuid.UUID]) -> int:
    with Session(engine) as session:
        count = session.scalar(select(func.count()).where(Run.organization_id.in_(org_ids)))
    return count or 0


@dataclass
class RunTimes:
    org_id: uuid.UUID
    posts: int
    published: int
    last_published_at: float | None  # epoch seconds of its last post's publish

    @property
    def complete(self) -> bool:
        return self.posts > 0 and self.published == self.posts


def run_times(engine: Engine, org_ids: Collection[uuid.UUID]) -> list[RunTimes]:
    """Per run: its posts, how many are published, and when the last one was."""
    published = Post.status == PostStatus.PUBLISHED
    with Session(engine) as session:
        rows = session.execute(
            select(
                Run.organization_id,
                func.count(Post.id),
                func.count(Post.id).filter(published),
                func.max(Post.published_at).filter(published),
            )
            .join(Post, Post.run_id == Run.id)
            .where(Run.organization_id.in_(org_ids), Run.status != RunStatus.NEEDS_REVIEW)
            .group_by(Run.id)
        ).all()
    # A run the copy gate stopped waits for a person by design: neither done nor lost.
    return [
        RunTimes(org, n, done, None if last is None else last.timestamp())
        for org, n, done, last in rows
    ]


@dataclass
class Integrity:
    runs_by_status: Counter[str] = field(default_factory=Counter)
    posts_by_status: Counter[str] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


def integrity(stack: Stack, engine: Engine, org_ids: Collection[uuid.UUID]) -> Integrity:
    """PostgreSQL against the sandboxes' posts, as the chaos audit checks it (each post once
    on its platform, under the id we hold), plus every measured post not published: a brief
    we accepted that did not come out is lost too, whatever the reason, except a run the copy
    gate stopped for a person's review (counted in `runs_by_status`)."""
    held = {
        p: httpx.get(f"{stack.sandbox_url(p)}/_sandbox/posts", timeout=60).json() for p in PLATFORMS
    }
    result = Integrity()
    with Session(engine) as session:
        checked = audit(session, held)
        unpublished = session.execute(
            select(Post.id, Post.platform, Post.status, Post.status_reason)
            .join(Run, Run.id == Post.run_id)
            .where(
                Run.organization_id.in_(org_ids),
                Post.status != PostStatus.PUBLISHED,
                Run.status != RunStatus.NEEDS_REVIEW,  # held by the gate for a person, shown
            )
        ).all()
        statuses = session.execute(
            select(Run.status, func.count())
            .where(Run.organization_id.in_(org_ids))
            .group_by(Run.status)
        ).all()
        post_statuses = session.execute(
            select(Post.status, func.count())
            .join(Run, Run.id == Post.run_id)
            .where(Run.organization_id.in_(org_ids))
            .group_by(Post.status)
        ).all()
    result.runs_by_status.update(dict(statuses))
    result.posts_by_status.update(dict(post_statuses))
    result.duplicates = checked.duplicates
    result.lost = [*checked.lost, *checked.mismatches]
    result.lost += [f"{p} post {i} {s}: {why}" for i, p, s, why in unpublished]
    return result


def _proc_stat(pid: int) -> tuple[int, int, float] | None:
    """(parent pid, process group, CPU seconds of it and its reaped children), None if gone.

    The reaped children's time (cutime/cstime) keeps what exited between two samples: a
    PostgreSQL backend that disconnected, a recycled pool process.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return int(fields[1]), int(fields[2]), ticks / CLOCK_TICKS


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds so far by process name: each stack child's whole process group (children
    start new sessions), plus the embedded PostgreSQL (the postmaster, found by its data
    folder in its command line, and its backends) and Redis."""
    groups: dict[int, str] = {}
    for name, child in stack.children.items():
        try:
            groups[os.getpgid(child.pid)] = name
        except ProcessLookupError:
            continue
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))) is not None:
            stats[int(entry)] = stat
    services = str(stack.data_dir / "services")
    # Redis rewrites its process title to "redis-server 127.0.0.1:<port>": found by its port.
    redis_title = stack.env["REDIS_URL"].removeprefix("redis://").rstrip("/")
    roots: dict[int, str] = {}
    for pid in stats:
        command = _cmdline(pid)
        if "redis" in command and (redis_title in command.split() or services in command):
            roots[pid] = "redis"
        elif services in command:
            roots[pid] = "postgres"
    totals: dict[str, float] = {}
    for pid, (ppid, pgrp, seconds) in stats.items():
        owner = groups.get(pgrp) or roots.get(pid) or roots.get(ppid)
        if owner is not None:
            totals[owner] = totals.get(owner, 0.0) + seconds
    return totals
