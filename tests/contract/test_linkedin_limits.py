"""LinkedIn sandbox limits and reads: headers, uploads, length, daily throttle, analytics.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from briefcast.pipeline.adapters.linkedin import LinkedInPublisher
from briefcast.pipeline.adapters.publisher import (
    AmbiguousPublishError,
    PermanentPublishError,
    PublishProgress,
    PublishRequest,
    TransientPublishError,
)
from briefcast.sandbox import linkedin
from briefcast.sandbox.common import Clock
from tests.contract.helpers import Sandbox, Saves, image_bytes, settings_for

from .test_linkedin import AUTHOR, HEADERS, SHARE, _text_post

THROTTLED = {  # §3.7 captured 429
    "serviceErrorCode": 101,
    "message": "Resource level throttle limit for calls to this resource is reached.",
    "status": 429,
}


def _client(box: Sandbox) -> LinkedInPublisher:
    return LinkedInPublisher.from_settings(
        settings_for(li_url=box.server.base_url), poll_interval_s=0.01
    )


def _post(box: Sandbox, text: str) -> Any:
    return box.http.post("/rest/posts", json=_text_post(text), headers=HEADERS)


def test_request_without_linkedin_version_is_refused(li: Sandbox) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != "LinkedIn-Version"}
    resp = li.http.post("/rest/posts", json=_text_post("x"), headers=headers)
    assert resp.status_code == 400  # §3.1 [I]: "a missing header also errors; use 400"
    assert resp.json() == {
        "status": 400,
        "code": "VERSION_MISSING",
        "message": "A version must be present. Please specify a version by adding the "
        "LinkedIn-Version header.",
    }
    assert li.posts() == []


def test_request_without_restli_protocol_header_is_refused(li: Sandbox) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != "X-Restli-Protocol-Version"}
    resp = li.http.post("/rest/posts", json=_text_post("x"), headers=headers)
    assert (resp.status_code, resp.json()) == (  # §3.1 requires 2.0.0; §3.7 400 shape
        400,
        {
            "status": 400,
            "code": "ILLEGAL_ARGUMENT",
            "message": "X-Restli-Protocol-Version 2.0.0 is required",
        },
    )
    assert li.posts() == []


def test_initialize_upload_then_put_makes_the_image_available(li: Sandbox) -> None:
    init = li.http.post(
        "/rest/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": AUTHOR}},
        headers=HEADERS,
    )
    assert init.status_code == 200
    value = init.json()["value"]  # §3.2: ACTION responses wrap in "value"
    assert set(value) == {"uploadUrlExpiresAt", "uploadUrl", "image"}
    assert re.match(r"^urn:li:image:[\w-]+$", value["image"])
    put = li.http.put(
        value["uploadUrl"],
        content=image_bytes(1200, 627),
        headers={"Authorization": HEADERS["Authorization"]},
    )
    assert (put.status_code, put.content) == (201, b"")  # §3.2 [I] 201
    image = li.http.get(f"/rest/images/{quote(value['image'], safe='')}", headers=HEADERS).json()
    assert image["status"] == "AVAILABLE"  # §3.3
    assert (image["id"], image["owner"]) == (value["image"], AUTHOR)
    assert (image["aspectRatioWidth"], image["aspectRatioHeight"]) == (1200, 627)


def test_commentary_over_3000_characters_is_422(li: Sandbox) -> None:
    assert _post(li, "x" * 3000).status_code == 201  # §3.4: ≤ 3,000 is fine
    resp = _post(li, "y" * 3001)
    assert (resp.status_code, resp.json()) == (  # §3.4 [I] 422, §3.7 validation text
        422,
        {"message": "ERROR :: /commentary :: length exceeds 3000 characters\n", "status": 422},
    )
    assert len(li.posts()) == 1


def test_daily_throttle_is_429_until_midnight_utc(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    late = datetime(2026, 3, 1, 23, 0, tzinfo=UTC).timestamp()
    box = start(
        linkedin.create_app(
            member_daily_limits={"POST /rest/posts": 2},
            app_daily_limits={"GET /rest/socialActions": 1},
            clock=Clock(late),
        )
    )
    assert [_post(box, f"post {i}").status_code for i in range(2)] == [201, 201]
    refused = _post(box, "post 2")
    assert (refused.status_code, refused.json()) == (429, THROTTLED)
    assert "retry-after" not in refused.headers  # §3.8: none documented
    assert box.http.get("/rest/images/urn%3Ali%3Aimage%3Ax", headers=HEADERS).status_code == 404

    with _client(box) as client, pytest.raises(TransientPublishError) as err:
        client.publish(post_request, PublishProgress(), saves)  # §3.7: 429 → retry later
    assert (err.value.status, err.value.code) == (429, "101")

    box.clock(set=late + 3599)  # 23:59:59: same UTC day, still refused
    assert _post(box, "post 2").status_code == 429
    box.clock(advance_s=1)  # 00:00:00 UTC: counters reset
    assert _post(box, "post 2").status_code == 201
    with _client(box) as client:
        urn = client.publish(post_request, saves.last, saves).platform_post_id
    assert urn is not None and SHARE.match(urn)
    # The app-wide counter works the same way for a read endpoint.
    path = f"/rest/socialActions/{quote(urn, safe='')}"
    assert box.http.get(path, headers=HEADERS).status_code == 200
    assert box.http.get(path, headers=HEADERS).json() == THROTTLED


def test_social_metadata_single_and_batch(li: Sandbox) -> None:
    urn = _post(li, "Metadata please").headers["x-restli-id"]
    encoded = quote(urn, safe="")
    meta = li.http.get(f"/rest/socialMetadata/{encoded}", headers=HEADERS)
    assert meta.status_code == 200
    body = meta.json()  # §3.6 shape
    assert set(body) == {"entity", "commentsState", "reactionSummaries", "commentSummary"}
    assert (body["entity"], body["commentsState"]) == (urn, "OPEN")
    for kind, summary in body["reactionSummaries"].items():
        assert summary["reactionType"] == kind and kind in {"LIKE", "PRAISE"}
    actions = li.http.get(f"/rest/socialActions/{encoded}", headers=HEADERS).json()
    reactions = sum(s["count"] for s in body["reactionSummaries"].values())
    assert reactions == actions["likesSummary"]["totalLikes"]  # the views agree
    assert body["commentSummary"]["count"] == actions["commentsSummary"]["aggregatedTotalComments"]

    ghost = "urn:li:share:7000000000000000000"
    batch = li.http.get(
        f"/rest/socialMetadata?ids=List({encoded},{quote(ghost, safe='')})", headers=HEADERS
    ).json()
    assert batch["results"] == {urn: body}
    assert batch["errors"][ghost]["status"] == 404


def test_unknown_post_urn_is_404(li: Sandbox) -> None:
    urn = "urn:li:share:7000000000000000001"
    resp = li.http.get(f"/rest/posts/{quote(urn, safe='')}", headers=HEADERS)
    assert (resp.status_code, resp.json()) == (  # §3.4 read / §3.10 step 4; body [I]
        404,
        {"status": 404, "code": "NOT_FOUND", "message": f"Not Found: {urn}"},
    )


def test_duplicate_of_a_deleted_post_is_a_ghost_and_stops(
    li: Sandbox, post_request: PublishRequest, saves: Saves
) -> None:
    li.fault(method="POST", path="^/rest/posts$", commit_then_drop=True)
    with _client(li) as client:
        with pytest.raises(AmbiguousPublishError):
            client.publish(post_request, PublishProgress(), saves)
        [post] = li.posts()
        deleted = li.http.delete(f"/rest/posts/{quote(post['id'], safe='')}", headers=HEADERS)
        assert (deleted.status_code, deleted.content) == (204, b"")
        with pytest.raises(PermanentPublishError) as err:  # §3.10 step 4: do not loop
            client.publish(post_request, saves.last, saves)
    assert (err.value.status, err.value.code) == (422, "DUPLICATE_POST")
    assert post["id"] in err.value.message
    assert li.posts() == []
