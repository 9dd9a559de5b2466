"""Model usage and the monthly budget: what copy has cost the organization."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from briefcast.api.deps import PrincipalDep, SessionDep
from briefcast.api.errors import ApiError
from briefcast.api.schemas.runs import UsageOut
from briefcast.models.repositories import ingest
from briefcast.models.repositories import usage as usage_repo

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    monthly_budget_usd: Decimal | None = Field(
        ge=0, le=1_000_000, max_digits=12, decimal_places=4,
        description="Spend limit per calendar month (UTC); null removes the limit.",
    )  # fmt: skip


@router.get("", response_model=UsageOut)
async def get_usage(
    principal: PrincipalDep,
    session: SessionDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
) -> UsageOut:
    """Tokens and estimated cost this month (or `month=YYYY-MM`), with the budget left."""
    since = usage_repo.month_start()
    if month is not None:
        since = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    summary = await usage_repo.summary(session, principal.organization_id, since)
    left = None if summary.budget_usd is None else summary.budget_usd - summary.cost_usd
    return UsageOut(**vars(summary), budget_left_usd=left)


@router.put("/budget", response_model=UsageOut)
async def set_budget(body: BudgetIn, principal: PrincipalDep, session: SessionDep) -> UsageOut:
    org = await ingest.get_organization(session, principal.organization_id)
    if org is None:
        raise ApiError(403, "unknown_organization", "The token's organization does not exist.")
    org.monthly_budget_usd = body.monthly_budget_usd
    await session.commit()
    return await get_usage(principal, session)
