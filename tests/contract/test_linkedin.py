"""The LinkedIn publisher against the REST sandbox.

Section numbers (§) refer to docs/contracts/linkedin.md and sandboxes.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from briefcast.pipeline.adapters.linkedin import LinkedInPublisher, escape_little_text
from briefcast.pipeline.adapters.publisher import (
    AmbiguousPublishError,
    AuthPublishError,
    PermanentPublishError,
    PublishProgress,
    PublishRequest,
    TransientPublishError,
)
from briefcast.sandbox import linkedin
from tests.contract.helpers import Sandbox, Saves, settings_for

AUTHOR = "urn:li:organization:2414183"  # Settings.linkedin_author_urn
HEADERS = {
    "Authorization": "Bearer sandbox-token",
    "LinkedIn-Version": "202608",
    "X-Restli-Protocol-Version": "2.0.0",
}
SHARE = re.compile(r"^urn:li:share:\d{19}$")  # §0.3


def _publisher(box: Sandbox, **kw: Any) -> LinkedInPublisher:
    return LinkedInPublisher.from_settings(
        settings_for(li_url=box.server.base_url, **kw), poll_interval_s=0.01
    )


def _text_post(commentary: str) -> dict[str, Any]:
    return {
        "author": AUTHOR,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": []},
        "lifecycleState": "PUBLISHED",
    }


def test_happy_path_saves_each_id_and_speaks_the_wire(
    li: Sandbox, li_publisher: LinkedInPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    result = li_publisher.publish(post_request, PublishProgress(), saves)

    assert result.container_id is not None
    assert re.match(r"^urn:li:image:[\w-]+$", result.container_id)
    assert result.platform_post_id is not None and SHARE.match(result.platform_post_id)
    assert result.permalink == f"https://www.linkedin.com/feed/update/{result.platform_post_id}/"
    # §3.10: the image URN is persisted before the upload and the post.
    assert saves.snapshots[0].container_id == result.container_id
    assert saves.snapshots[0].platform_post_id is None
    # The share URN is the last thing learned: no call follows, the caller commits the result.
    assert saves.last.platform_post_id is None

    init, put, image, post = li.records()
    assert (init["method"], init["path"], init["query"], init["status"]) == (
        "POST",
        "/rest/images",
        {"action": "initializeUpload"},
        200,
    )
    assert init["body"] == {"initializeUploadRequest": {"owner": AUTHOR}}
    assert (put["method"], put["status"], put["body"]["bytes"]) == (
        "PUT",
        201,
        Path(post_request.image_path).stat().st_size,
    )
    assert put["path"].startswith("/dms-uploads/")
    assert (image["method"], image["path"]) == ("GET", f"/rest/images/{result.container_id}")
    assert (post["method"], post["path"], post["status"]) == ("POST", "/rest/posts", 201)
    assert post["headers"] == {
        "content-type": "application/json",
        "authorization": "Bearer <13 chars>",
        "linkedin-version": "202608",
        "x-restli-protocol-version": "2.0.0",
        "x-restli-method": "CREATE",
        "user-agent": post["headers"]["user-agent"],
    }
    assert post["body"]["commentary"] == escape_little_text(post_request.caption)
    assert post["body"]["content"] == {
        "media": {"id": result.container_id, "altText": post_request.alt_text}
    }
    assert post["body"]["distribution"]["feedDistribution"] == "MAIN_FEED"

    read = li.http.get(f"/rest/posts/{quote(result.platform_post_id, safe='')}", headers=HEADERS)
    assert read.status_code == 200
    stored = read.json()
    assert stored["commentary"] == r"Autumn drop is live \(limited run\) #autumn"  # §3.4
    assert stored["author"] == AUTHOR and stored["lifecycleState"] == "PUBLISHED"
    assert stored["publishedAt"] == stored["createdAt"] > 1_600_000_000_000  # epoch ms
    [kept] = li.posts()
    assert kept["id"] == result.platform_post_id


def test_raw_create_is_201_empty_with_restli_id(li: Sandbox) -> None:
    resp = li.http.post("/rest/posts", json=_text_post("Hello"), headers=HEADERS)
    assert resp.status_code == 201
    assert resp.content == b""
    assert SHARE.match(resp.headers["x-restli-id"])
    init = li.http.post(
        "/rest/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": AUTHOR}},
        headers=HEADERS,
    ).json()["value"]
    assert init["uploadUrl"].startswith(li.server.base_url + "/dms-uploads/")  # served here
    assert init["uploadUrlExpiresAt"] > 1_600_000_000_000
    image = li.http.get(f"/rest/images/{quote(init['image'], safe='')}", headers=HEADERS)
    assert image.json()["status"] == "WAITING_UPLOAD"  # §3.3


def test_unescaped_reserved_characters_truncate(li: Sandbox) -> None:
    # §3.4: the API still answers 201 but keeps only the text before "(".
    resp = li.http.post("/rest/posts", json=_text_post("Sale (today) #deals"), headers=HEADERS)
    assert resp.status_code == 201
    urn = quote(resp.headers["x-restli-id"], safe="")
    assert li.http.get(f"/rest/posts/{urn}", headers=HEADERS).json()["commentary"] == "Sale "
    escaped = escape_little_text("50% off *today* @team [new] #deals_2026 ~ \\ |")
    assert escaped == r"50% off \*today\* \@team \[new\] #deals_2026 \~ \\ \|"
    resp = li.http.post("/rest/posts", json=_text_post(escaped), headers=HEADERS)
    urn = quote(resp.headers["x-restli-id"], safe="")
    assert li.http.get(f"/rest/posts/{urn}", headers=HEADERS).json()["commentary"] == escaped


def test_resume_reuses_saved_image(
    li: Sandbox, li_publisher: LinkedInPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    li.fault(
        method="POST", path="^/rest/posts$", status=503, body={"message": "down", "status": 503}
    )
    with pytest.raises(TransientPublishError) as err:
        li_publisher.publish(post_request, PublishProgress(), saves)
    assert (err.value.status, saves.last.platform_post_id) == (503, None)
    image_urn = saves.last.container_id

    result = li_publisher.publish(post_request, saves.last, saves)
    assert result.container_id == image_urn
    assert len(li.records("/rest/images")) == 3  # one initializeUpload, two status reads
    assert len(li.records("/dms-uploads/")) == 1  # the bytes went up once
    assert [p["id"] for p in li.posts()] == [result.platform_post_id]


def test_commit_then_drop_is_ambiguous_and_resend_dedupes(
    li: Sandbox, li_publisher: LinkedInPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    li.fault(method="POST", path="^/rest/posts$", commit_then_drop=True)
    with pytest.raises(AmbiguousPublishError):
        li_publisher.publish(post_request, PublishProgress(), saves)
    [post] = li.posts()
    assert saves.last.platform_post_id is None

    result = li_publisher.publish(post_request, saves.last, saves)  # §3.10 byte-identical resend
    assert result.platform_post_id == post["id"]
    assert len(li.posts()) == 1
    first, second = li.records("/rest/posts")[:2]
    assert first["body"] == second["body"]
    assert (first["outcome"], second["status"]) == ("committed_then_dropped", 422)


def test_duplicate_post_body(li: Sandbox) -> None:
    first = li.http.post("/rest/posts", json=_text_post("Same words"), headers=HEADERS)
    again = li.http.post("/rest/posts", json=_text_post("Same  words "), headers=HEADERS)
    assert again.status_code == 422
    urn = first.headers["x-restli-id"]
    assert again.json() == {  # §3.7 captured body
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
        f"Content is a duplicate of {urn}",
        "errorDetails": {
            "inputErrors": [
                {"description": "Duplicate post is detected", "input": {}, "code": "DUPLICATE_POST"}
            ]
        },
        "status": 422,
    }
    li.clock(advance_s=2 * 86400)  # outside the duplicate window a repeat is a new post
    assert (
        li.http.post("/rest/posts", json=_text_post("Same words"), headers=HEADERS).status_code
        == 201
    )


def test_retired_version_is_426_for_the_client(
    li: Sandbox, post_request: PublishRequest, saves: Saves
) -> None:
    with (
        _publisher(li, linkedin_version="202401") as pub,
        pytest.raises(PermanentPublishError) as err,
    ):
        pub.publish(post_request, PublishProgress(), saves)
    assert (err.value.status, err.value.code) == (426, "NONEXISTENT_VERSION")
    assert err.value.message == "Requested version 202401 is not active"
    raw = li.http.post(
        "/rest/posts", json=_text_post("x"), headers={**HEADERS, "LinkedIn-Version": "202401"}
    )
    assert (raw.status_code, raw.json()) == (  # §3.1 exact body
        426,
        {
            "status": 426,
            "code": "NONEXISTENT_VERSION",
            "message": "Requested version 202401 is not active",
        },
    )
    assert li.posts() == [] and saves.snapshots == []


def test_wrong_token_is_auth_error(li: Sandbox, post_request: PublishRequest, saves: Saves) -> None:
    with (
        _publisher(li, linkedin_access_token="revoked") as pub,
        pytest.raises(AuthPublishError) as err,
    ):
        pub.publish(post_request, PublishProgress(), saves)
    assert (err.value.status, err.value.code, err.value.message) == (
        401,
        "65600",
        "Invalid access token",
    )


def test_scripted_errors_map_to_classes(
    li: Sandbox, li_publisher: LinkedInPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    li.fault(path="^/rest/images$", status=500, body={"message": "Internal", "status": 500})
    with pytest.raises(TransientPublishError) as err:
        li_publisher.publish(post_request, PublishProgress(), saves)
    assert err.value.status == 500
    body = {"serviceErrorCode": 101, "message": "throttled", "status": 429}  # §3.7
    li.fault(path="^/rest/images$", status=429, body=body, headers={"Retry-After": "7"})
    with pytest.raises(TransientPublishError) as err:
        li_publisher.publish(post_request, PublishProgress(), saves)
    assert (err.value.status, err.value.retry_after_s) == (429, 7.0)
    long = PublishRequest("p", "x" * 3001, "", post_request.image_path, "alt")
    with pytest.raises(PermanentPublishError) as fatal:
        li_publisher.publish(long, PublishProgress(), saves)
    assert fatal.value.status == 422 and "3000" in fatal.value.message
    assert li.posts() == []


def test_metrics(
    li: Sandbox, li_publisher: LinkedInPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    urn = li_publisher.publish(post_request, PublishProgress(), saves).platform_post_id
    assert urn is not None
    li.clock(set=li.clock() + 86400)  # a day old, frozen so every read sees the same age
    values = li_publisher.fetch_metrics(urn).values
    assert set(values) == {
        "likes",
        "comments",
        "impressions",
        "unique_impressions",
        "clicks",
        "shares",
    }
    assert values["impressions"] >= values["unique_impressions"] > 0
    actions = li.http.get(f"/rest/socialActions/{quote(urn, safe='')}", headers=HEADERS).json()
    assert values["likes"] == actions["likesSummary"]["totalLikes"]
    stats = li.records("/rest/organizationalEntityShareStatistics")[-1]
    assert stats["query"] == {
        "q": "organizationalEntity",
        "organizationalEntity": AUTHOR,
        "shares": f"List({urn})",
    }
    assert json.dumps(values)  # plain ints, serialisable for the metrics table


def test_a_member_post_gets_likes_and_comments_from_social_actions(
    li: Sandbox, post_request: PublishRequest, saves: Saves
) -> None:
    member = "urn:li:person:member-1"
    li.http.post("/_sandbox/accounts", json={"token": "member-token", "author": member})
    settings = settings_for(
        li_url=li.server.base_url, linkedin_author_urn=member, linkedin_access_token="member-token"
    )
    with LinkedInPublisher.from_settings(settings, poll_interval_s=0.01) as pub:
        urn = pub.publish(post_request, PublishProgress(), saves).platform_post_id
        assert urn is not None
        li.clock(set=li.clock() + 86400)
        values = pub.fetch_metrics(urn).values
    actions = li.http.get(f"/rest/socialActions/{quote(urn, safe='')}", headers=HEADERS).json()
    assert values == {  # LinkedIn has no share statistics for a member's posts (§3.6)
        "likes": actions["likesSummary"]["totalLikes"],
        "comments": actions["commentsSummary"]["aggregatedTotalComments"],
    }
    assert values["likes"] > 0
    assert li.records("/rest/organizationalEntityShareStatistics") == []


def test_image_processing_is_polled(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    box = start(linkedin.create_app(processing_reads=2))
    with _publisher(box) as pub:
        result = pub.publish(post_request, PublishProgress(), saves)
    assert len(box.records("/rest/images/")) == 3  # PROCESSING, PROCESSING, AVAILABLE
    assert [p["id"] for p in box.posts()] == [result.platform_post_id]
