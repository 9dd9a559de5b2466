"""The materializer: turn a campaign's occurrences due within a short horizon into runs.

Safe by construction, so beat may run it twice, a task may be redelivered and a worker may
die mid-tick:

- campaigns are locked with SKIP LOCKED, and a whole batch commits or rolls back together;
- every occurrence is inserted under the unique key (campaign, occurs_at) first, and only an
  occurrence inserted now gets its run (in the same transaction);
- occurrence times come from the schedule (`schedule.py`); the campaign's cursor
  (`materialized_through`) only says how far rows already exist.

An occurrence later than the campaign's lateness window (downtime, a stopped beat) is
recorded as skipped with the reason, never fired; so are those that fell while the campaign
was paused, those on a skipped date, and those with no content left to post
(`planning.py` decides). One campaign that cannot be planned or written is parked (status
failed, with the reason) rather than holding back the batch of every other organization.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from briefcast.models.campaigns import Campaign, CampaignStatus
from briefcast.models.repositories import briefs as briefs_repo
from briefcast.models.repositories import campaigns as repo
from briefcast.models.repositories.briefs import AcceptedRun
from briefcast.pipeline.campaigns.planning import CampaignPlan, plan_campaign
from briefcast.redaction import scrub_text

log = structlog.get_logger(__name__)

# Occurrences this far ahead become runs now, so copy and image are ready when they are due.
DEFAULT_HORIZON = timedelta(minutes=5)
BATCH = 500


@dataclass
class TickReport:
    campaigns: int = 0
    created: int = 0
    skipped: int = 0
    parked: int = 0
    runs: list[AcceptedRun] = field(default_factory=list)


def materialize(
    session: Session,
    now: datetime,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
    limit: int = BATCH,
    campaign_id: uuid.UUID | None = None,
) -> TickReport:
    """One batch of due campaigns, in the caller's transaction (commit it to take effect)."""
    through = now + horizon
    report = TickReport()
    plans = []
    for campaign in repo.lock_due_campaigns(session, through, limit, campaign_id):
        report.campaigns += 1
        try:
            with session.begin_nested():
                plans.append(plan_campaign(session, campaign, now, through))
                session.flush()  # its bookkeeping belongs to this savepoint, not the write's
        except Exception as exc:
            _park(campaign, exc, report)
    try:
        with session.begin_nested():
            _write(session, plans, report)
    except DBAPIError:
        # One campaign's rows broke the batch's statements: write them one by one.
        for plan in plans:
            try:
                with session.begin_nested():
                    _write(session, [plan], report)
            except DBAPIError as exc:
                _park(plan.campaign, exc, report)
    return report


def _write(session: Session, plans: list[CampaignPlan], report: TickReport) -> None:
    occurrences = [o for plan in plans for o in plan.occurrences]
    inserted = repo.add_occurrences(session, occurrences)
    briefs = {run_id: brief for plan in plans for run_id, brief in plan.briefs.items()}
    used = {run_id: use for plan in plans for run_id, use in plan.used.items()}
    new_runs, items_used, skipped = [], [], 0
    for occurrence in occurrences:
        if (occurrence.campaign_id, occurrence.occurs_at) not in inserted:
            continue  # its row was there already: someone else materialized it
        if occurrence.run_id is None:
            skipped += 1
            continue
        new_runs.append((briefs[occurrence.run_id], occurrence.run_id))
        if occurrence.run_id in used:
            items_used.append(used[occurrence.run_id])
    runs = briefs_repo.insert_many(session, new_runs)
    repo.mark_items_used(session, items_used)
    # Counted only once the statements went through (a failed batch is written again).
    report.runs += runs
    report.created += len(runs)
    report.skipped += skipped


def _park(campaign: Campaign, exc: Exception, report: TickReport) -> None:
    """Stop materializing this campaign until a person edits it; the savepoint's rollback
    has put its row back as it was, so nothing of this tick is half kept."""
    campaign.status = CampaignStatus.FAILED
    reason = f"could not be materialized: {type(exc).__name__}: {exc}"
    campaign.status_reason = scrub_text(reason)[:1000]
    report.parked += 1
    log.error("campaign.parked", campaign_id=str(campaign.id), reason=campaign.status_reason)
