"""Probabilistic faults in the sandboxes: seeded dice, real envelopes, counts, controls.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from briefcast.pipeline.adapters.instagram import graph_error
from briefcast.pipeline.adapters.linkedin import linkedin_error
from briefcast.pipeline.adapters.publisher import HeldPublishError, TransientPublishError
from briefcast.sandbox import instagram, linkedin
from briefcast.sandbox.server import RunningServer, serve_in_thread

pytestmark = pytest.mark.chaos
IG_PUBLISH = "/v25.0/17841400000000001/media_publish"


@pytest.fixture
def ig() -> Iterator[httpx.Client]:
    yield from _serve(instagram.create_app())


@pytest.fixture
def li() -> Iterator[httpx.Client]:
    yield from _serve(linkedin.create_app())


def _serve(app: Any) -> Iterator[httpx.Client]:
    server: RunningServer = serve_in_thread(app)
    with httpx.Client(base_url=server.base_url, timeout=5) as client:
        yield client
    server.stop()


def _chaos(client: httpx.Client, **spec: Any) -> dict[str, Any]:
    response = client.post("/_sandbox/chaos", json=spec)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _outcomes(client: httpx.Client) -> list[str | None]:
    return [r.get("chaos") for r in client.get("/_sandbox/records").json()]


def test_rates_are_seeded_counted_and_recorded(ig: httpx.Client) -> None:
    rates = {"status_500": 0.2, "status_429": 0.3}
    _chaos(ig, path="media_publish$", method="POST", rates=rates, seed=7)
    for _ in range(400):
        ig.post(IG_PUBLISH)
    ig.get(IG_PUBLISH)  # another method: never drawn
    ig.post("/v25.0/17841400000000001/media")  # another path: never drawn
    counts = ig.get("/_sandbox/chaos").json()["counts"]
    assert counts["matched"] == 400
    assert 55 <= counts["status_500"] <= 105  # 80 expected; binomial sd ≈ 8
    assert 90 <= counts["status_429"] <= 150  # 120 expected; sd ≈ 9
    assert counts["commit_then_drop"] == 0
    first = _outcomes(ig)
    assert first.count("status_500") == counts["status_500"]
    assert first.count("status_429") == counts["status_429"]
    assert first[-2:] == [None, None]

    ig.post("/_sandbox/reset").raise_for_status()  # forgets records, counts and the spec
    assert ig.get("/_sandbox/chaos").json() == {
        "active": False,
        "spec": None,
        "counts": {"matched": 0, "status_500": 0, "status_429": 0, "commit_then_drop": 0},
    }
    _chaos(ig, path="media_publish$", method="POST", rates=rates, seed=7)
    for _ in range(400):
        ig.post(IG_PUBLISH)
    assert _outcomes(ig) == first[:-2]  # the same seed draws the same sequence


def test_instagram_envelopes_map_to_transient_errors(ig: httpx.Client) -> None:
    _chaos(ig, path="media_publish$", rates={"status_429": 1.0})
    throttled = ig.post(IG_PUBLISH)
    assert throttled.status_code == 400  # §2.10: throttling comes back as HTTP 400
    error = throttled.json()["error"]
    assert (error["code"], error["is_transient"]) == (4, True)
    assert error["message"] == "(#4) Application request limit reached"
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    assert "call_count" in throttled.headers["x-app-usage"]
    mapped = graph_error(throttled)
    assert type(mapped) is TransientPublishError and mapped.code == "4"

    _chaos(ig, path="media_publish$", rates={"status_500": 1.0})
    failed = ig.post(IG_PUBLISH)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == 2 and failed.json()["error"]["is_transient"]
    assert type(graph_error(failed)) is TransientPublishError


def test_linkedin_envelopes_and_retry_after(li: httpx.Client) -> None:
    _chaos(li, path="^/rest/posts$", method="POST", rates={"status_429": 1.0}, retry_after_s=1)
    throttled = li.post("/rest/posts", json={})
    assert throttled.status_code == 429
    assert throttled.json() == {
        "serviceErrorCode": 101,
        "message": "Resource level throttle limit for calls to this resource is reached.",
        "status": 429,
    }
    assert throttled.headers["retry-after"] == "1"
    held = linkedin_error(throttled)
    assert isinstance(held, HeldPublishError) and held.retry_after_s == 1.0

    _chaos(li, path="^/rest/posts$", method="POST", rates={"status_429": 1.0})
    assert "retry-after" not in li.post("/rest/posts", json={}).headers  # §3.8: none by default

    _chaos(li, path="^/rest/posts$", method="POST", rates={"status_500": 1.0})
    failed = li.post("/rest/posts", json={})
    assert (failed.status_code, failed.json()) == (
        500,
        {"message": "Internal Server Error", "status": 500},
    )
    assert type(linkedin_error(failed)) is TransientPublishError


def test_commit_then_drop_runs_the_handler_then_drops(li: httpx.Client) -> None:
    _chaos(li, path="^/rest/images$", method="POST", rates={"commit_then_drop": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        li.post(
            "/rest/images",
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": "urn:li:organization:1"}},
            headers={
                "Authorization": "Bearer sandbox-token",
                "LinkedIn-Version": "202608",
                "X-Restli-Protocol-Version": "2.0.0",
            },
        )
    [record] = li.get("/_sandbox/records").json()
    assert (record["chaos"], record["outcome"], record["status"]) == (
        "commit_then_drop",
        "committed_then_dropped",
        200,  # the handler ran: the image exists, the client never heard
    )


def test_stop_keeps_counts_and_scripted_faults_win(ig: httpx.Client) -> None:
    _chaos(ig, path="media_publish$", rates={"status_500": 1.0})
    assert ig.post("/_sandbox/faults", json={"path": "media_publish", "status": 418}).is_success
    assert ig.post(IG_PUBLISH).status_code == 418  # the scripted fault, not the dice
    assert ig.post(IG_PUBLISH).status_code == 500
    stopped = ig.delete("/_sandbox/chaos").json()
    assert stopped["active"] is False and stopped["counts"]["status_500"] == 1
    assert ig.post(IG_PUBLISH).status_code == 400  # the real handler: no token
    assert ig.get("/_sandbox/chaos").json()["counts"]["matched"] == 1


@pytest.mark.parametrize(
    "spec",
    [
        {"rates": {"status_503": 0.1}},
        {"rates": {"status_500": 0.7, "status_429": 0.4}},
        {"rates": {"status_500": -0.1}},
        {"path": "([", "rates": {"status_500": 0.1}},
    ],
)
def test_bad_specs_are_refused(ig: httpx.Client, spec: dict[str, Any]) -> None:
    assert ig.post("/_sandbox/chaos", json=spec).status_code == 400
    assert ig.get("/_sandbox/chaos").json()["active"] is False
