"""Set-up for `bench.e2e`: organizations with platform accounts of their own, the Celery
consumers paused and given back, and the ingress probe's rows taken out of the pipeline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from celery import Celery
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from briefcast.chaos.runner import api_token
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.pipeline.queues import QUEUES, TaskQueue
from briefcast.settings import Settings
from briefcast.stack import Stack

Say = Callable[[str], None]
# Distinct from the settings' default account (…0001, organization 2414183), which an
# organization without a connected account would publish as.
IG_USER_BASE = 17841400000100000
LI_ORG_BASE = 5100000


@dataclass(frozen=True)
class Org:
    slug: str
    id: uuid.UUID
    token: str  # the API bearer token
    ig_user: str = ""
    li_author: str = ""

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def organization(engine: Engine, slug: str) -> Org:
    token = api_token(engine, slug)
    with Session(engine) as session, session.begin():
        org_id = ensure_organization(session, slug, slug.title())  # exists: returns its id
    return Org(slug, org_id, token)


def _ok(response: httpx.Response) -> None:
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")


def connected_organization(stack: Stack, engine: Engine, slug: str, n: int) -> Org:
    """An organization with its own Instagram user and LinkedIn page: each sandbox learns the
    account's token, and the organization connects it through the API as a customer would."""
    org = organization(engine, slug)
    ig_user, li_author = str(IG_USER_BASE + n), f"urn:li:organization:{LI_ORG_BASE + n}"
    ig_token, li_token = f"IGQVJ-bench-e2e-{slug}", f"AQV-bench-e2e-{slug}"
    accounts = {  # platform → (the account, its token, what its sandbox is told)
        "instagram": (ig_user, ig_token, {"token": ig_token, "user_id": ig_user}),
        "linkedin": (li_author, li_token, {"token": li_token, "author": li_author}),
    }
    with httpx.Client(timeout=10) as http:
        for platform, (ref, token, known) in accounts.items():
            _ok(http.post(f"{stack.sandbox_url(platform)}/_sandbox/accounts", json=known))
            _ok(
                http.put(
                    f"{stack.api_url}/api/v1/accounts/{platform}",
                    json={"account_ref": ref, "access_token": token},
                    headers=org.auth(),
                )
            )
    return Org(org.slug, org.id, org.token, ig_user, li_author)


class Consumers:
    """The stack's Celery consumers, paused (`cancel_consumer`) so the ingress is measured
    alone."""

    def __init__(self, stack: Stack) -> None:
        broker = Settings(redis_url=stack.env["REDIS_URL"]).redis_celery_url
        self.app = Celery("bench-e2e", broker=broker)
        self.app.conf.task_queues = QUEUES  # what `purge` empties: every pipeline queue

    def active(self) -> dict[str, list[str]]:
        replies = self.app.control.inspect(timeout=2.0).active_queues() or {}
        return {worker: sorted(q["name"] for q in queues) for worker, queues in replies.items()}

    def wait_ready(self, timeout_s: float = 120.0) -> dict[str, list[str]]:
        """Until every pipeline queue has a consumer: the stack is up once its HTTP services
        answer, but workers take longer to boot."""
        deadline = time.monotonic() + timeout_s
        wanted = {q.value for q in TaskQueue}
        while True:
            active = self.active()
            if wanted <= {q for queues in active.values() for q in queues}:
                return active
            if time.monotonic() > deadline:
                raise RuntimeError(f"not every queue is consumed after {timeout_s:.0f} s: {active}")
            time.sleep(0.5)

    def pause(self) -> None:
        for queue in TaskQueue:  # broadcast: every worker that consumes it
            self.app.control.cancel_consumer(queue.value, reply=True, timeout=2.0)
        still = {w: qs for w, qs in self.active().items() if qs}
        if still:
            raise RuntimeError(f"workers still consuming after cancel_consumer: {still}")

    def close(self) -> None:
        self.app.close()
