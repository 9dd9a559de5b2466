"""Keeping platform tokens alive: refresh those close to expiry, where the platform allows.

Instagram long-lived tokens can be refreshed for another 60 days (§2.12). LinkedIn access
tokens need a refresh token that only approved partners get (§3.9), so a LinkedIn account
that expires waits in `needs_reconnect` for a person.
Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from briefcast.models.repositories import accounts as accounts_repo
from briefcast.models.session import SessionScope
from briefcast.pipeline.adapters.publisher import PublishError, reconnect_reason
from briefcast.pipeline.publish.registry import instagram_account_publisher
from briefcast.security import cipher

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
        except PublishError as exc:
            with session_scope() as session:
                accounts_repo.mark_needs_reconnect_by_id(
                    session, account_id, reconnect_reason("instagram", exc.message)
                )
            continue
        with session_scope() as session:
            accounts_repo.store_token(
                session, account_id, cipher().encrypt(token), now + timedelta(seconds=lifetime_s)
            )
        refreshed += 1
    return refreshed
