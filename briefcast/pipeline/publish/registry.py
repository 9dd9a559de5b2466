"""Publishers: one per platform account per process, built from settings (pooled clients).

An organization's connected account (token decrypted only here, in memory) wins; without
one, the account configured in settings is used (the local sandboxes by default).
"""

from __future__ import annotations

import uuid
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from pydantic import SecretStr
from sqlalchemy.orm import Session

from briefcast.models.accounts import AccountStatus
from briefcast.models.posts import Platform
from briefcast.models.repositories import accounts as accounts_repo
from briefcast.models.session import worker_session
from briefcast.pipeline.adapters.publisher import AuthPublishError, Publisher
from briefcast.security import cipher
from briefcast.settings import Settings, get_settings

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
        return publisher_for(platform)
    status, reason = account.status, account.status_reason
    ref, ciphertext = account.account_ref, account.token_ciphertext
    if status != AccountStatus.CONNECTED:
        raise AuthPublishError(reason or f"the {platform} account must be reconnected")
    return _account_publisher(platform, ref, cipher().decrypt(ciphertext))


def instagram_account_publisher(account_ref: str, token: str) -> InstagramPublisher:
    from briefcast.pipeline.adapters.instagram import InstagramPublisher

    publisher = _account_publisher("instagram", account_ref, token)
    assert isinstance(publisher, InstagramPublisher)
    return publisher
