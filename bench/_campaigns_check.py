"""What `bench.campaigns` checks after its ticks: the schedules' occurrences, counted
independently of the materializer, against PostgreSQL's rows, runs, posts and outbox events."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select

from bench._campaigns_mix import Planted
from briefcast.models.campaigns import CampaignOccurrence, OccurrenceStatus
from briefcast.models.events import RUN_SUBMITTED
from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import Post
from briefcast.models.runs import Brief, Run
from briefcast.models.session import worker_session
from briefcast.pipeline.campaigns import schedule

Key = tuple[uuid.UUID, datetime]


def due_between(planted: list[Planted], after: datetime, through: datetime) -> set[Key]:
    """Every occurrence in (after, through] by the schedules alone (`schedule.parse(…)
    .occurrences`; a slot queue's: its queued items' slots), skipped dates included."""
    due: set[Key] = set()
    for campaign in planted:
        if campaign.slots is not None:
            times = [t for t in campaign.slots if after < t <= through]
        else:
            sched = schedule.parse(campaign.schedule, campaign.timezone)
            assert isinstance(sched, schedule.Recurrence)
            times = sched.occurrences(after, through)
        due.update((campaign.id, t) for t in times)
    return due


@dataclass
class Check:
    expected: int = 0
    rows: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    runs: int = 0
    missing: list[str] = field(default_factory=list)  # due, and no row or no run
    unexpected: list[str] = field(default_factory=list)  # a row or run nothing was due for
    duplicates: list[str] = field(default_factory=list)  # a second row, run, post or event
    events_sent: int = 0
    events: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.duplicates)


def verify(due: set[Key], platforms: int = 2) -> Check:
    """Each due occurrence has exactly one row; a created one exactly one run (its brief due
    at the occurrence), with one post per platform and one `run.submitted` event."""
    check = Check(expected=len(due))
    with worker_session() as session:
        rows = session.execute(
            select(
                CampaignOccurrence.campaign_id,
                CampaignOccurrence.occurs_at,
                CampaignOccurrence.status,
                CampaignOccurrence.reason,
                CampaignOccurrence.run_id,
            )
        ).all()
        runs = session.execute(
            select(Run.id, Brief.campaign_id, Brief.publish_at)
            .join(Brief, Brief.id == Run.brief_id)
            .where(Brief.campaign_id.is_not(None))
        ).all()
        posts = dict(session.execute(select(Post.run_id, func.count()).group_by(Post.run_id)).all())
        # Literal: a bound key would make SELECT and GROUP BY two different expressions.
        event_run: ColumnElement[Any] = literal_column("outbox.payload ->> 'run_id'")
        events = session.execute(
            select(event_run, func.count(), func.count(OutboxMessage.sent_at))
            .where(OutboxMessage.topic == RUN_SUBMITTED)
            .group_by(event_run)
        ).all()
    occurrences: Counter[Key] = Counter()
    run_of: dict[Key, uuid.UUID | None] = {}
    for campaign_id, at, status, reason, run_id in rows:
        key = (campaign_id, at)
        occurrences[key] += 1
        run_of[key] = run_id
        check.by_status[status] += 1
        if status == OccurrenceStatus.SKIPPED:
            check.skip_reasons[(reason or "")[:70]] += 1
    check.rows = len(rows)
    runs_per: Counter[tuple[object, object]] = Counter((c, at) for _, c, at in runs)
    run_ids = {run_id for run_id, _, _ in runs}
    check.runs = len(runs)
    per_event = {run_id: (n, sent) for run_id, n, sent in events}
    for key in sorted(due - set(occurrences)):
        check.missing.append(f"campaign {key[0]} at {key[1].isoformat()}: no occurrence row")
    for key in sorted(set(occurrences) - due):
        check.unexpected.append(f"campaign {key[0]} at {key[1].isoformat()}: nothing was due")
    for key, n in sorted(occurrences.items()):
        if n > 1:
            check.duplicates.append(f"campaign {key[0]} at {key[1].isoformat()}: {n} rows")
        run_id = run_of[key]
        if run_id is None:
            continue  # skipped: no run, and none must exist (counted below)
        label = f"campaign {key[0]} at {key[1].isoformat()} (run {run_id})"
        if run_id not in run_ids:
            check.missing.append(f"{label}: its run does not exist")
        if posts.get(run_id, 0) != platforms:
            check.missing.append(f"{label}: {posts.get(run_id, 0)} posts, not {platforms}")
        n_events, sent = per_event.get(str(run_id), (0, 0))
        check.events += n_events
        check.events_sent += sent
        if n_events != 1:
            (check.duplicates if n_events > 1 else check.missing).append(
                f"{label}: {n_events} run.submitted events"
            )
    created = {k for k, run_id in run_of.items() if run_id is not None}
    for run_key, n in runs_per.items():
        label = f"campaign {run_key[0]} at {run_key[1]}"
        if n > 1:
            check.duplicates.append(f"{label}: {n} runs")
        if run_key not in created:
            check.unexpected.append(f"{label}: a run without a created occurrence")
    return check
