"""Keeping platform tokens alive: refresh those close to expiry, where the platform allows.

Instagram long-lived tokens can be refreshed for another 60 days (§2.12). LinkedIn access
tokens need a refresh token that only approved partners get (§3.9), so a LinkedIn account
that expires waits in `needs_reconnect` for a person.

Only a refused token (§2.10's code 190) asks a person to reconnect. Any other failure (a 5xx,
a throttle) leaves the account as it is: its token still has days left, and the next beat
tick tries again.
Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from briefcast.models.repositories import accounts as accounts_repo
from briefcast.models.session import SessionScope
from briefcast.pipeline.adapters.publisher import AuthPublishError, PublishError, reconnect_reason
from briefcast.pipeline.publish.registry import instagram_account_publisher
from briefcast.security import cipher

log = structlog.get_logger(__name__)

REFRESH_BEFORE = timedelta(days=10)


def refresh_due_tokens(session_scope: SessionScope, now: datetime | None = None) -> int:
    """Refresh every Instagram token expiring within REFRESH_BEFORE; returns how many."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        due = [
            (a.id, a.account_ref, a.token_ciphertext)
            for a in accounts_repo.expiring(session, "instagram", now + REFRESH_BEFORE)
        ]
    refreshed = 0
    for account_id, account_ref, ciphertext in due:
        publisher = instagram_account_publisher(account_ref, cipher().decrypt(ciphertext))
        try:
            token, lifetime_s = publisher.refresh_token()
        except AuthPublishError as exc:
            with session_scope() as session:
                accounts_repo.mark_needs_reconnect_by_id(
                    session, account_id, reconnect_reason("instagram", exc.message)
                )
            continue
        except PublishError as exc:
            log.warning(
                "tokens.refresh_failed", account_id=str(account_id), error=exc.message,
                status=exc.status,
            )  # fmt: skip
            continue
        with session_scope() as session:
            accounts_repo.store_token(
                session, account_id, cipher().encrypt(token), now + timedelta(seconds=lifetime_s)
            )
        refreshed += 1
    return refreshed
