"""Model usage rows and the sums budgets and usage reports need."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.tenancy import Organization
from briefcast.models.usage import ModelUsage


def month_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    """The first instant of the month after the one `start` opens."""
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def _month_cost_stmt(org_id: uuid.UUID, since: datetime) -> Select[Decimal]:
    return select(func.coalesce(func.sum(ModelUsage.cost_usd), 0)).where(
        ModelUsage.organization_id == org_id, ModelUsage.created_at >= since
    )


def budget_left(session: Session, org_id: uuid.UUID) -> Decimal | None:
    """What the organization may still spend this month; None when it has no budget."""
    budget = session.scalar(
        select(Organization.monthly_budget_usd).where(Organization.id == org_id)
    )
    if budget is None:
        return None
    spent = session.scalar(_month_cost_stmt(org_id, month_start())) or Decimal(0)
    return Decimal(budget) - Decimal(spent)


def record(session: Session, rows: list[ModelUsage]) -> None:
    session.add_all(rows)


@dataclass(frozen=True)
class UsageSummary:
    since: datetime
    calls: int
    cached_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    budget_usd: Decimal | None
    until: datetime | None = None


async def summary(
    session: AsyncSession,
    org_id: uuid.UUID,
    since: datetime,
    run_id: uuid.UUID | None = None,
    until: datetime | None = None,
) -> UsageSummary:
    """Usage in [since, until) (until: no end), of the organization or one run of it."""
    filters = [ModelUsage.organization_id == org_id, ModelUsage.created_at >= since]
    if until is not None:
        filters.append(ModelUsage.created_at < until)
    if run_id is not None:
        filters.append(ModelUsage.run_id == run_id)
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(ModelUsage.cached),
                func.coalesce(func.sum(ModelUsage.prompt_tokens), 0),
                func.coalesce(func.sum(ModelUsage.completion_tokens), 0),
                func.coalesce(func.sum(ModelUsage.cost_usd), 0),
            ).where(*filters)
        )
    ).one()
    budget = await session.scalar(
        select(Organization.monthly_budget_usd).where(Organization.id == org_id)
    )
    return UsageSummary(since, row[0], row[1], row[2], row[3], Decimal(row[4]), budget, until)
