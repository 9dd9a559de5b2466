"""Model usage and the monthly budget: what copy has cost the organization."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from briefcast.api.deps import PrincipalDep, SessionDep
from briefcast.api.intake import unknown_organization
from briefcast.api.ratelimit import ANALYTICS_LIMIT
from briefcast.api.roles import ADMIN
from briefcast.api.schemas.runs import UsageOut
from briefcast.models.repositories import tenancy
from briefcast.models.repositories import usage as usage_repo

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A JSON number, as the schema says (not a numeric string); kept to 1/100 of a cent.
    monthly_budget_usd: Annotated[StrictFloat, Field(ge=0, le=1_000_000)] | None = Field(
        description="Spend limit per calendar month (UTC), in USD; null removes the limit."
    )

    def budget(self) -> Decimal | None:
        if self.monthly_budget_usd is None:
            return None
        return Decimal(str(self.monthly_budget_usd)).quantize(Decimal("0.0001"))


@router.get("", response_model=UsageOut, dependencies=[ANALYTICS_LIMIT])
async def get_usage(
    principal: PrincipalDep,
    session: SessionDep,
    month: Annotated[
        str | None,
        Query(
            pattern=r"^20\d{2}-(0[1-9]|1[0-2])$",
            description="A calendar month (UTC) from 2000-01 to 2099-12; default this one.",
        ),
    ] = None,
) -> UsageOut:
    """Tokens and estimated cost in one calendar month, with the budget left."""
    since = usage_repo.month_start()
    if month is not None:
        since = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    until = usage_repo.next_month(since)
    summary = await usage_repo.summary(session, principal.organization_id, since, until=until)
    left = None if summary.budget_usd is None else summary.budget_usd - summary.cost_usd
    return UsageOut(**vars(summary), budget_left_usd=left)


@router.put("/budget", response_model=UsageOut, dependencies=[ADMIN])
async def set_budget(body: BudgetIn, principal: PrincipalDep, session: SessionDep) -> UsageOut:
    if not await tenancy.set_monthly_budget(session, principal.organization_id, body.budget()):
        raise unknown_organization()
    return await get_usage(principal, session)
