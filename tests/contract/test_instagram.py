"""The Instagram publisher against the Graph sandbox.

Section numbers (§) refer to docs/contracts/instagram.md and sandboxes.md.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from briefcast.pipeline.adapters.instagram import InstagramPublisher
from briefcast.pipeline.adapters.publisher import (
    AmbiguousPublishError,
    AuthPublishError,
    HeldPublishError,
    PermanentPublishError,
    PublishProgress,
    PublishRequest,
    TransientPublishError,
)
from briefcast.sandbox import instagram
from briefcast.settings import SANDBOX_TOKEN
from tests.contract.helpers import ImageHost, Sandbox, Saves, settings_for

USER = "17841400000000001"  # Settings.instagram_user_id
TOKEN = {"access_token": SANDBOX_TOKEN}
IG_ID = re.compile(r"^\d{17}$")  # §2.1 / §0.3


def _publisher(box: Sandbox, **kw: Any) -> InstagramPublisher:
    return InstagramPublisher.from_settings(
        settings_for(ig_url=box.server.base_url, **kw), poll_interval_s=0.01
    )


def test_happy_path_saves_each_id_and_speaks_the_wire(
    ig: Sandbox, ig_publisher: InstagramPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    result = ig_publisher.publish(post_request, PublishProgress(), saves)

    assert result.container_id is not None and IG_ID.match(result.container_id)
    assert result.platform_post_id is not None and IG_ID.match(result.platform_post_id)
    assert result.permalink is not None
    assert re.match(r"^https://www\.instagram\.com/p/[\w-]{11}/$", result.permalink)
    # §2.13: the container id is persisted before anything else happens.
    assert saves.snapshots[0].container_id == result.container_id
    assert saves.snapshots[0].platform_post_id is None
    # The media id is saved before the next call (the permalink read); the caller commits the
    # returned result, permalink included.
    assert saves.last.platform_post_id == result.platform_post_id
    assert saves.last.permalink is None

    calls = [(r["method"], r["path"], r["status"]) for r in ig.records()]
    assert calls == [  # §2.2 steps 0-4 (the quota is read before publishing)
        ("POST", f"/v25.0/{USER}/media", 200),
        ("GET", f"/v25.0/{result.container_id}", 200),
        ("GET", f"/v25.0/{USER}/content_publishing_limit", 200),
        ("POST", f"/v25.0/{USER}/media_publish", 200),
        ("GET", f"/v25.0/{result.platform_post_id}", 200),
    ]
    create, poll, _limit, publish, _ = ig.records()
    assert create["body"] == {
        "image_url": post_request.image_url,
        "caption": post_request.caption,
        "alt_text": post_request.alt_text,
    }
    assert create["headers"]["authorization"] == f"Bearer <{len(SANDBOX_TOKEN)} chars>"
    assert poll["query"] == {"fields": "status_code,status"}
    assert publish["body"] == {"creation_id": result.container_id}
    assert publish["publish"] == {
        "platform_post_id": result.platform_post_id,
        "container_id": result.container_id,
        "caption": post_request.caption,
    }
    [post] = ig.posts()
    assert post["id"] == result.platform_post_id and post["caption"] == post_request.caption

    status = ig.http.get(
        f"/v25.0/{result.container_id}", params={"fields": "status_code,status", **TOKEN}
    )
    assert status.json()["status_code"] == "PUBLISHED"  # §2.13 recovery relies on this
    media = ig.http.get(
        f"/v25.0/{result.platform_post_id}", params={"fields": "id,timestamp,media_type", **TOKEN}
    ).json()
    assert media["media_type"] == "IMAGE"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$", media["timestamp"])  # §2.7


def test_polls_until_finished(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    box = start(instagram.create_app(finish_after_polls=2))
    with _publisher(box) as pub:
        result = pub.publish(post_request, PublishProgress(), saves)
    polls = [r for r in box.records() if r["path"] == f"/v25.0/{result.container_id}"]
    assert len(polls) == 3  # IN_PROGRESS, IN_PROGRESS, FINISHED
    assert len(box.posts()) == 1


def test_publish_before_finished_is_9007(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    box = start(instagram.create_app(finish_after_polls=5))
    created = box.http.post(
        f"/v25.0/{USER}/media", data={"image_url": post_request.image_url, **TOKEN}
    ).json()["id"]
    early = box.http.post(f"/v25.0/{USER}/media_publish", data={"creation_id": created, **TOKEN})
    assert early.status_code == 400
    error = early.json()["error"]  # §2.5
    assert (error["code"], error["error_subcode"], error["message"]) == (
        9007,
        2207027,
        "Media ID is not available",
    )
    with _publisher(box) as pub:
        pub.max_polls = 2
        with pytest.raises(TransientPublishError, match="IN_PROGRESS"):
            pub.publish(post_request, PublishProgress(), saves)
    assert box.posts() == []


def test_resume_skips_steps_with_saved_ids(
    ig: Sandbox, ig_publisher: InstagramPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    created = ig.http.post(
        f"/v25.0/{USER}/media", data={"image_url": post_request.image_url, **TOKEN}
    ).json()["id"]
    result = ig_publisher.publish(post_request, PublishProgress(container_id=created), saves)
    assert result.container_id == created
    assert [r["path"] for r in ig.records(f"/{USER}/media")] == [
        f"/v25.0/{USER}/media",  # only the one made above
        f"/v25.0/{USER}/media_publish",
    ]
    done = ig_publisher.publish(post_request, result, saves)
    assert done == result
    assert len(ig.records()) == 5  # create, poll, quota, publish, permalink; nothing more
    assert len(ig.posts()) == 1


@pytest.mark.parametrize(
    ("image", "caption", "code", "title"),
    [
        ("square.png", "ok", "36001/2207005", "Unsupported format"),  # §2.9 JPEG only
        ("wide.jpg", "ok", "36003/2207009", "Invalid aspect ratio"),  # 2:1 > 1.91:1
        ("square.jpg", "x" * 2201, "36004/2207010", None),  # > 2,200 chars
        ("square.jpg", " ".join(f"#t{i}" for i in range(31)), "36004/2207010", None),
        ("square.jpg", " ".join(f"@u{i}" for i in range(21)), "36004/2207010", None),
        ("big.jpg", "ok", "36000/2207004", "Image size too large"),  # > 8 MiB
        ("missing.jpg", "ok", "9004/2207052", "Media download has failed."),
    ],
)
def test_media_rejections_use_metas_codes(
    ig: Sandbox,
    ig_publisher: InstagramPublisher,
    image_host: ImageHost,
    saves: Saves,
    image: str,
    caption: str,
    code: str,
    title: str | None,
) -> None:
    request = PublishRequest("p", caption, f"{image_host.base_url}/media/{image}", "/x", "alt")
    with pytest.raises(PermanentPublishError) as err:
        ig_publisher.publish(request, PublishProgress(), saves)
    assert not isinstance(err.value, AuthPublishError)
    assert (err.value.status, err.value.code) == (400, code)
    assert saves.snapshots == []  # nothing to resume from
    raw = ig.http.post(
        f"/v25.0/{USER}/media", data={"image_url": request.image_url, "caption": caption, **TOKEN}
    )
    assert raw.status_code == 400
    error = raw.json()["error"]  # §2.10 envelope
    assert f"{error['code']}/{error['error_subcode']}" == code
    assert error["type"] == "OAuthException" and error["is_transient"] is False
    assert re.match(r"^[\w-]{23}$", error["fbtrace_id"])
    if title:
        assert error["error_user_title"] == title
    assert ig.posts() == []


def test_quota_refusal_then_window_rolls(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    box = start(instagram.create_app(quota_total=1))
    with _publisher(box) as pub:
        pub.publish(post_request, PublishProgress(), saves)
        second = Saves()
        with pytest.raises(HeldPublishError) as err:  # held before sending: quota read first
            pub.publish(post_request, PublishProgress(), second)
        assert (err.value.code, err.value.retry_after_s) == ("quota", 900.0)
        assert len(box.records(f"/{USER}/media_publish")) == 1
        limit = box.http.get(
            f"/v25.0/{USER}/content_publishing_limit",
            params={"fields": "quota_usage,config", **TOKEN},
        )
        assert limit.json() == {
            "data": [{"quota_usage": 1, "config": {"quota_total": 1, "quota_duration": 86400}}]
        }
        box.clock(advance_s=86401)  # §2.6 rolling window; the saved container has expired
        stale = second.last.container_id
        result = pub.publish(post_request, second.last, second)
    assert result.container_id != stale  # §2.13 step 5: new container after EXPIRED
    assert len(box.posts()) == 2


def test_wrong_token_is_auth_error(ig: Sandbox, post_request: PublishRequest, saves: Saves) -> None:
    with (
        _publisher(ig, instagram_access_token="expired") as pub,
        pytest.raises(AuthPublishError) as err,
    ):
        pub.publish(post_request, PublishProgress(), saves)
    assert (err.value.status, err.value.code) == (400, "190")
    assert ig.records()[0]["status"] == 400


def test_scripted_500_and_throttle_are_transient(
    ig: Sandbox, ig_publisher: InstagramPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    ig.fault(
        method="POST",
        path=r"/media$",
        status=500,
        body={"error": {"message": "An unknown error occurred", "code": 1, "is_transient": True}},
    )
    with pytest.raises(TransientPublishError) as err:
        ig_publisher.publish(post_request, PublishProgress(), saves)
    assert (err.value.status, err.value.code) == (500, "1")
    usage = json.dumps({USER: [{"type": "instagram", "estimated_time_to_regain_access": 5}]})
    ig.fault(
        path=r"/media$",
        status=400,
        body={"error": {"message": "(#80002) rate", "code": 80002, "is_transient": True}},
        headers={"X-Business-Use-Case-Usage": usage},
    )
    with pytest.raises(TransientPublishError) as err:
        ig_publisher.publish(post_request, PublishProgress(), saves)
    assert err.value.retry_after_s == 300  # §2.11: minutes
    assert [r["outcome"] for r in ig.records()] == ["scripted", "scripted"]
    assert ig.posts() == []


def test_commit_then_drop_is_ambiguous_and_resume_recovers(
    ig: Sandbox, ig_publisher: InstagramPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    ig.fault(method="POST", path="media_publish", commit_then_drop=True)
    with pytest.raises(AmbiguousPublishError):
        ig_publisher.publish(post_request, PublishProgress(), saves)
    [post] = ig.posts()  # the side effect happened exactly once
    assert saves.last.container_id == post["container_id"]
    assert saves.last.platform_post_id is None

    result = ig_publisher.publish(post_request, saves.last, saves)
    assert result.platform_post_id == post["id"]  # recovered via /media, not re-published
    assert len(ig.posts()) == 1
    assert len(ig.records("media_publish")) == 1


def test_recovery_pages_back_past_posts_published_after_ours(
    ig: Sandbox, post_request: PublishRequest, saves: Saves
) -> None:
    settings = settings_for(ig_url=ig.server.base_url)
    with InstagramPublisher.from_settings(settings, poll_interval_s=0.01, page_size=5) as pub:
        ig.fault(method="POST", path="media_publish", commit_then_drop=True)
        with pytest.raises(AmbiguousPublishError):
            pub.publish(post_request, PublishProgress(), saves)
        [ours] = ig.posts()
        for n in range(12):  # the account keeps posting while ours is unconfirmed
            other = dataclasses.replace(post_request, caption=f"Another post {n}")
            pub.publish(other, PublishProgress(), Saves())
        result = pub.publish(post_request, saves.last, saves)
    assert result.platform_post_id == ours["id"]  # found on the third page
    listings = [r for r in ig.records() if r["method"] == "GET" and r["path"].endswith("/media")]
    assert len(listings) == 3  # 5 + 5 newer posts, then ours among the next 5
    assert len(ig.posts()) == 13


def test_drop_and_timeouts(ig: Sandbox, post_request: PublishRequest, saves: Saves) -> None:
    ig.fault(method="POST", path=r"/media$", drop=True)
    with pytest.raises(httpx.RemoteProtocolError):  # a closed socket, not a 500
        ig.http.post(f"/v25.0/{USER}/media", data=TOKEN)
    assert ig.records()[-1]["outcome"] == "dropped"

    ig.fault(method="POST", path=r"/media$", drop=True)
    with _publisher(ig) as pub, pytest.raises(TransientPublishError):
        pub.publish(post_request, PublishProgress(), saves)  # creating a container is safe
    ig.fault(method="POST", path="media_publish", latency_ms=800)
    pub = InstagramPublisher.from_settings(
        settings_for(ig_url=ig.server.base_url, http_timeout_s=0.3), poll_interval_s=0.01
    )
    with pub, pytest.raises(AmbiguousPublishError):
        pub.publish(post_request, PublishProgress(), saves)
    dead = InstagramPublisher("http://127.0.0.1:9", "v25.0", USER, SANDBOX_TOKEN, timeout_s=1)
    with dead, pytest.raises(TransientPublishError):
        dead.publish(post_request, PublishProgress(), saves)  # connection refused


def test_metrics_and_graph_reads(
    ig: Sandbox, ig_publisher: InstagramPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    media_id = ig_publisher.publish(post_request, PublishProgress(), saves).platform_post_id
    assert media_id is not None
    ig.clock(set=ig.clock() + 86400)  # a day old, frozen so every read sees the same age
    values = ig_publisher.fetch_metrics(media_id).values
    assert set(values) == {
        "reach",
        "likes",
        "comments",
        "saved",
        "shares",
        "views",
        "total_interactions",
    }
    assert values["views"] >= values["reach"] > 0
    assert values["total_interactions"] == sum(
        values[k] for k in ("likes", "comments", "saved", "shares")
    )
    assert ig_publisher.fetch_metrics(media_id) == ig_publisher.fetch_metrics(media_id)
    old = ig.http.get(f"/v25.0/{media_id}/insights", params={"metric": "impressions", **TOKEN})
    assert old.status_code == 400 and old.json()["error"]["code"] == 100  # §2.8 deprecated
    # §2.1: unversioned paths and JSON bodies are tolerated; the listing is newest first.
    listing = ig.http.get(f"/{USER}/media", params={"fields": "id,caption", **TOKEN}).json()
    assert listing["data"] == [{"id": media_id, "caption": post_request.caption}]
    raw = ig.http.post(
        f"/v25.0/{USER}/media_publish",
        json={"creation_id": "123"},
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
    )
    assert raw.json()["error"]["code"] == 100


def test_a_long_lived_token_is_refreshed_for_60_days(ig: Sandbox) -> None:
    with _publisher(ig) as pub:
        token, lifetime_s = pub.refresh_token()
    assert (token, lifetime_s) == (SANDBOX_TOKEN, 60 * 86400)  # §2.12
    [call] = ig.records("refresh_access_token")
    assert call["query"]["grant_type"] == "ig_refresh_token"
    assert call["status"] == 200


def test_refreshing_a_refused_token_is_an_auth_error(ig: Sandbox) -> None:
    with (
        _publisher(ig, instagram_access_token="IGQVJ-revoked") as pub,
        pytest.raises(AuthPublishError) as err,
    ):
        pub.refresh_token()
    assert err.value.code is not None and err.value.code.startswith("190")
