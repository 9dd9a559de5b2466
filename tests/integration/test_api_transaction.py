"""The session dependency owns each request's transaction: it commits before the answer is
sent, so a commit that fails is an error answer; outbox rows go to the relay only after the
commit, and never for a request that failed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from briefcast.api.deps import SessionDep
from briefcast.api.errors import ApiError, install_error_handlers
from briefcast.models import OutboxMessage
from briefcast.models.events import CAMPAIGN_CHANGED
from briefcast.models.repositories import outbox
from briefcast.models.session import api_sessionmaker, create_api_engine, worker_engine
from tests.live import Live

pytestmark = pytest.mark.integration

REFUSED_NAME = "Refused at commit"


@pytest.fixture
def refused_at_commit(db: None) -> Iterator[str]:
    """A brand voice name PostgreSQL refuses only at COMMIT (a deferred constraint trigger),
    after the insert itself went through."""
    with worker_engine().begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER test_refuse_at_commit AFTER INSERT ON brand_voices "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"WHEN (NEW.name = '{REFUSED_NAME}') EXECUTE FUNCTION test_refuse_at_commit()"
            )
        )
    try:
        yield REFUSED_NAME
    finally:
        with worker_engine().begin() as conn:
            conn.execute(text("DROP TRIGGER test_refuse_at_commit ON brand_voices"))
            conn.execute(text("DROP FUNCTION test_refuse_at_commit()"))


def test_a_commit_that_fails_is_an_error_answer_not_a_success(
    live: Live, org_token: str, refused_at_commit: str
) -> None:
    def api(method: str, body: dict[str, Any] | None = None) -> httpx.Response:
        # A connection each: the server closes one after an unexpected error.
        url = f"{live.api_url}/api/v1/brand-voices"
        headers = {"Authorization": f"Bearer {org_token}"}
        return httpx.request(method, url, json=body, headers=headers)

    voice = {"name": refused_at_commit, "tone": "calm"}
    response = api("POST", voice)
    assert response.status_code == 500, response.text
    assert response.json()["error_code"] == "internal_error"
    assert api("GET").json()["items"] == []
    # The same request for another name is kept.
    assert api("POST", {**voice, "name": "Kept"}).status_code == 201
    assert [v["name"] for v in api("GET").json()["items"]] == ["Kept"]


class _SeenRelay:
    """Records what it is handed, and whether the row was committed by then (read on a
    connection of its own)."""

    def __init__(self) -> None:
        self.submitted: list[tuple[int, str, Mapping[str, Any], bool]] = []

    def submit(self, outbox_id: int, topic: str, payload: Mapping[str, Any]) -> None:
        with worker_engine().connect() as conn:
            committed = conn.scalar(select(OutboxMessage.id).where(OutboxMessage.id == outbox_id))
        self.submitted.append((outbox_id, topic, payload, committed is not None))


@pytest.fixture
def app_with_event_route(services: dict[str, str]) -> Iterator[tuple[TestClient, _SeenRelay]]:
    relay = _SeenRelay()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_api_engine()
        app.state.sessionmaker = api_sessionmaker(engine)
        app.state.relay = relay
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    install_error_handlers(app)

    @app.post("/events")
    async def write_event(session: SessionDep, fail: bool = False) -> dict[str, int]:
        payload = {"campaign_id": str(uuid.uuid4())}
        event = await outbox.add_to_relay(session, CAMPAIGN_CHANGED, payload)
        if fail:
            raise ApiError(409, "refused", "Refused after the row was written.")
        return {"outbox_id": event.outbox_id}

    with TestClient(app) as client:
        yield client, relay


def test_outbox_rows_are_relayed_after_the_commit_and_never_after_a_rollback(
    db: None, app_with_event_route: tuple[TestClient, _SeenRelay]
) -> None:
    client, relay = app_with_event_route
    refused = client.post("/events", params={"fail": True})
    assert refused.status_code == 409
    assert relay.submitted == []
    kept = client.post("/events")
    assert kept.status_code == 200
    outbox_id = kept.json()["outbox_id"]
    assert [(i, topic, committed) for i, topic, _, committed in relay.submitted] == [
        (outbox_id, CAMPAIGN_CHANGED, True)
    ]
    with worker_engine().connect() as conn:
        assert conn.scalar(select(text("count(*)")).select_from(OutboxMessage)) == 1
