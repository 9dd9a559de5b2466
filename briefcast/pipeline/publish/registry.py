"""Publishers: one per platform account per process, built from settings (pooled clients).

An organization publishes through its own connected account (token decrypted only here, in
memory). Without one, its posts wait for a person to connect it; only where settings allow
it (development and tests by default, `ALLOW_SETTINGS_ACCOUNT` elsewhere) do they go out
through the account configured in settings (the local sandboxes by default), and that is
logged, never silent.
"""

from __future__ import annotations

import uuid
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import structlog
from pydantic import SecretStr
from sqlalchemy.orm import Session

from briefcast.models.accounts import AccountStatus
from briefcast.models.posts import Platform
from briefcast.models.repositories import accounts as accounts_repo
from briefcast.models.session import worker_session
from briefcast.pipeline.adapters.publisher import AccountUnavailableError, Publisher
from briefcast.security import cipher
from briefcast.settings import Settings, get_settings

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from briefcast.pipeline.adapters.instagram import InstagramPublisher


def _build(platform: str, settings: Settings) -> Publisher:
    if platform == Platform.INSTAGRAM:
        from briefcast.pipeline.adapters.instagram import InstagramPublisher

        return InstagramPublisher.from_settings(settings)
    if platform == Platform.LINKEDIN:
        from briefcast.pipeline.adapters.linkedin import LinkedInPublisher

        return LinkedInPublisher.from_settings(settings)
    raise ValueError(f"no publisher for platform {platform!r}")


@cache
def publisher_for(platform: str) -> Publisher:
    """The account configured in settings."""
    return _build(platform, get_settings())


@lru_cache(maxsize=256)
def _account_publisher(platform: str, account_ref: str, token: str) -> Publisher:
    field = {"instagram": ("instagram_user_id", "instagram_access_token"),
             "linkedin": ("linkedin_author_urn", "linkedin_access_token")}[platform]  # fmt: skip
    settings = get_settings().model_copy(update={field[0]: account_ref, field[1]: SecretStr(token)})
    return _build(platform, settings)


def publisher_for_org(organization_id: uuid.UUID, platform: str) -> Publisher:
    with worker_session() as session:
        return account_publisher(session, organization_id, platform)


def account_publisher(session: Session, organization_id: uuid.UUID, platform: str) -> Publisher:
    """The organization's connected account on `platform`, read in the caller's session."""
    account = accounts_repo.get(session, organization_id, platform)
    if account is None:
        if not get_settings().settings_account_allowed:
            raise AccountUnavailableError(missing_account_reason(platform))
        _log_borrowing(organization_id, platform)
        return publisher_for(platform)
    status, reason = account.status, account.status_reason
    ref, ciphertext = account.account_ref, account.token_ciphertext
    if status != AccountStatus.CONNECTED:
        raise AccountUnavailableError(reason or f"reconnect the {platform} account")
    return _account_publisher(platform, ref, cipher().decrypt(ciphertext))


def missing_account_reason(platform: str) -> str:
    return (
        f"connect your {Platform(platform).label} account: this organization has none "
        f"(PUT /api/v1/accounts/{platform}); its posts go out once it is connected"
    )


@cache
def _log_borrowing(organization_id: uuid.UUID, platform: str) -> None:
    # Once per organization and platform per process: loud enough to notice, not a flood.
    log.warning(
        "publish.settings_account",
        organization_id=str(organization_id),
        platform=platform,
        note="no connected account; publishing through the account in settings",
    )


def instagram_account_publisher(account_ref: str, token: str) -> InstagramPublisher:
    from briefcast.pipeline.adapters.instagram import InstagramPublisher

    publisher = _account_publisher("instagram", account_ref, token)
    assert isinstance(publisher, InstagramPublisher)
    return publisher
