"""Connected platform accounts. Tokens go in and are stored encrypted; they never come out."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, field_validator

from briefcast.api.deps import PrincipalDep, SessionDep, SettingsDep
from briefcast.api.ratelimit import PUBLISHING_LIMIT
from briefcast.api.roles import ADMIN
from briefcast.models.posts import Platform
from briefcast.models.repositories import accounts as accounts_repo
from briefcast.security import cipher

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Printable ASCII without spaces, as both platforms' ids are: a NUL byte reached
    # PostgreSQL (which refuses it in text) and answered 500.
    account_ref: str = Field(
        min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
        description="Instagram user id, or LinkedIn author URN (urn:li:organization:…)",
    )  # fmt: skip
    access_token: SecretStr = Field(min_length=1, max_length=4000)
    expires_at: AwareDatetime | None = None

    @field_validator("expires_at", mode="before")
    @classmethod
    def _a_date_time_string(cls, value: object) -> object:
        # The schema says a date-time string; pydantic alone would take seconds since 1970.
        if isinstance(value, int | float):
            raise ValueError("must be a date-time string with an offset, e.g. 2027-01-01T09:00Z")
        return value


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: str
    account_ref: str
    status: str
    status_reason: str | None
    token_expires_at: datetime | None
    updated_at: datetime


@router.put("/{platform}", response_model=AccountOut, dependencies=[ADMIN, PUBLISHING_LIMIT])
async def connect_account(
    platform: Platform,
    body: AccountIn,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> AccountOut:
    """Connect (or reconnect) the organization's account; posts waiting for it go out again."""
    ciphertext = cipher(settings).encrypt(body.access_token.get_secret_value())
    account = await accounts_repo.connect(
        session, principal.organization_id, platform.value, body.account_ref, ciphertext,
        body.expires_at,
    )  # fmt: skip
    return AccountOut.model_validate(account)


@router.get("", response_model=list[AccountOut])
async def list_accounts(principal: PrincipalDep, session: SessionDep) -> list[AccountOut]:
    accounts = await accounts_repo.list_for(session, principal.organization_id)
    return [AccountOut.model_validate(a) for a in accounts]
