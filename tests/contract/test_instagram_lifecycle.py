"""Instagram sandbox lifecycles on the injectable clock: containers, quotas, tokens, insights.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from briefcast.pipeline.adapters.instagram import InstagramPublisher
from briefcast.pipeline.adapters.publisher import (
    AuthPublishError,
    HeldPublishError,
    PublishProgress,
    PublishRequest,
    TransientPublishError,
)
from briefcast.pipeline.render.images import render_headline_card
from briefcast.sandbox import instagram
from briefcast.sandbox.common import Clock
from briefcast.sandbox.instagram_state import CONTAINER_LIMIT
from briefcast.settings import SANDBOX_TOKEN
from tests.contract.helpers import ImageHost, Sandbox, Saves, settings_for

USER = "17841400000000001"
TOKEN = {"access_token": SANDBOX_TOKEN}
IG_ID = re.compile(r"^\d{17}$")
DAY = 86400
T0 = 1_780_000_000.0  # a fixed instant, so windows are exact
ENVELOPE_KEYS = {"message", "type", "code", "is_transient", "fbtrace_id"}  # §2.10
FULL_KEYS = ENVELOPE_KEYS | {"error_subcode", "error_user_title", "error_user_msg"}


def _publisher(box: Sandbox, **kw: Any) -> InstagramPublisher:
    return InstagramPublisher.from_settings(
        settings_for(ig_url=box.server.base_url, **kw), poll_interval_s=0.01
    )


def _create(box: Sandbox, image_url: str) -> str:
    resp = box.http.post(f"/v25.0/{USER}/media", data={"image_url": image_url, **TOKEN})
    assert resp.status_code == 200, resp.text
    cid: str = resp.json()["id"]
    return cid


def _status(box: Sandbox, cid: str) -> dict[str, Any]:
    resp = box.http.get(f"/v25.0/{cid}", params={"fields": "status_code,status", **TOKEN})
    body: dict[str, Any] = resp.json()
    return body


def _publish_raw(box: Sandbox, cid: str) -> Any:
    return box.http.post(f"/v25.0/{USER}/media_publish", data={"creation_id": cid, **TOKEN})


def test_rendered_jpeg_is_fetched_by_the_sandbox_and_published(
    ig: Sandbox, ig_publisher: InstagramPublisher, image_host: ImageHost, tmp_path: Any
) -> None:
    card = render_headline_card("Autumn drop is live", "instagram", "#1d4ed8")
    path = tmp_path / "card.jpg"
    path.write_bytes(card.data)
    url = image_host.add("card.jpg", card.data)
    request = PublishRequest("p", "Autumn drop #autumn", url, str(path), "Headline card")
    before = image_host.fetches.count("card.jpg")

    result = ig_publisher.publish(request, PublishProgress(), Saves())

    assert image_host.fetches.count("card.jpg") == before + 1  # §2.3 Meta downloads it once
    assert result.platform_post_id is not None and IG_ID.match(result.platform_post_id)
    media = ig.http.get(
        f"/v25.0/{result.platform_post_id}", params={"fields": "media_url,caption", **TOKEN}
    )
    assert media.json() == {
        "id": result.platform_post_id,
        "media_url": url,
        "caption": "Autumn drop #autumn",
    }


def test_container_finishes_after_a_delay_on_the_clock(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    box = start(instagram.create_app(finish_after_s=30, clock=Clock(T0)))
    with _publisher(box) as pub:
        pub.max_polls = 3
        with pytest.raises(TransientPublishError, match="IN_PROGRESS"):
            pub.publish(post_request, PublishProgress(), saves)
        cid = saves.last.container_id
        assert cid is not None
        assert _status(box, cid) == {  # §2.4
            "id": cid,
            "status_code": "IN_PROGRESS",
            "status": "In Progress: Media is still being processed.",
        }
        box.clock(advance_s=30)
        assert _status(box, cid)["status_code"] == "FINISHED"
        result = pub.publish(post_request, saves.last, saves)
    assert result.container_id == cid  # the same container, no second one
    assert [p["container_id"] for p in box.posts()] == [cid]


def test_container_expires_after_24_hours(
    start: Callable[[Any], Sandbox], post_request: PublishRequest
) -> None:
    box = start(instagram.create_app(clock=Clock(T0)))
    cid = _create(box, post_request.image_url)
    box.clock(advance_s=DAY - 1)
    assert _status(box, cid)["status_code"] == "FINISHED"
    box.clock(advance_s=1)
    assert _status(box, cid)["status_code"] == "EXPIRED"  # §2.3 / §2.4
    resp = _publish_raw(box, cid)
    assert resp.status_code == 400
    error = resp.json()["error"]  # §2.5 -2/2207020
    assert set(error) == FULL_KEYS
    assert (error["code"], error["error_subcode"], error["type"]) == (-2, 2207020, "OAuthException")
    assert error["message"] == "The media you are trying to access has expired"
    assert box.posts() == []


def test_publishing_a_published_container_is_code_100(
    ig: Sandbox, ig_publisher: InstagramPublisher, post_request: PublishRequest, saves: Saves
) -> None:
    result = ig_publisher.publish(post_request, PublishProgress(), saves)
    assert result.container_id is not None
    resp = _publish_raw(ig, result.container_id)
    assert resp.status_code == 400
    error = resp.json()["error"]  # §2.5 [I]: 400 OAuthException code 100
    assert set(error) == ENVELOPE_KEYS
    assert (error["code"], error["type"], error["is_transient"]) == (100, "OAuthException", False)
    assert error["message"] == "(#100) The media has already been published"
    assert len(ig.posts()) == 1


def test_container_cap_is_a_rolling_24_hour_window(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    assert CONTAINER_LIMIT == 400  # §2.3 default; the test uses a small cap for speed
    box = start(instagram.create_app(container_limit=3, clock=Clock(T0)))
    _create(box, post_request.image_url)
    _create(box, post_request.image_url)
    box.clock(advance_s=DAY / 2)
    _create(box, post_request.image_url)
    refused = box.http.post(f"/v25.0/{USER}/media", data={"image_url": "x", **TOKEN})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert set(error) == FULL_KEYS
    assert (error["code"], error["error_subcode"]) == (9, 2207042)
    assert error["error_user_title"] == "Maximum number of containers reached"
    with _publisher(box) as pub, pytest.raises(TransientPublishError) as err:
        pub.publish(post_request, PublishProgress(), saves)
    assert (err.value.status, err.value.code) == (400, "9/2207042")
    box.clock(advance_s=DAY / 2)  # the first two leave the window; the third stays
    _create(box, post_request.image_url)
    _create(box, post_request.image_url)
    again = box.http.post(f"/v25.0/{USER}/media", data={"image_url": "x", **TOKEN})
    assert again.json()["error"]["code"] == 9


def test_51st_post_in_24_hours_is_refused_then_the_window_rolls(
    start: Callable[[Any], Sandbox], post_request: PublishRequest
) -> None:
    box = start(instagram.create_app(quota_total=50, clock=Clock(T0)))

    def usage() -> dict[str, Any]:
        resp = box.http.get(
            f"/v25.0/{USER}/content_publishing_limit",
            params={"fields": "quota_usage,config", **TOKEN},
        )
        body: dict[str, Any] = resp.json()
        return body

    with _publisher(box) as pub:
        for i in range(50):
            if i == 25:
                box.clock(advance_s=DAY / 2)  # spread the posts over the window
            pub.publish(post_request, PublishProgress(), Saves())
        assert usage() == {  # §2.6 captured shape
            "data": [{"quota_usage": 50, "config": {"quota_total": 50, "quota_duration": DAY}}]
        }
        saves = Saves()
        with pytest.raises(HeldPublishError) as err:  # the client reads the quota first
            pub.publish(post_request, PublishProgress(), saves)
        assert err.value.message == (
            "Instagram's publishing limit is used: 50 of 50 posts in 24 hours"
        )
        # The server refuses a 51st publish itself too, with Meta's quota error (§2.5).
        refused = box.http.post(
            f"/v25.0/{USER}/media_publish",
            params={"creation_id": saves.last.container_id, **TOKEN},
        )
        assert refused.status_code == 400
        assert (refused.json()["error"]["code"], refused.json()["error"]["error_subcode"]) == (
            9,
            2207042,
        )
        assert len(box.posts()) == 50

        box.clock(advance_s=DAY / 2)  # T0 + 24 h: the first 25 roll out, the rest stay
        assert usage()["data"][0]["quota_usage"] == 25
        result = pub.publish(post_request, saves.last, saves)
    assert result.platform_post_id is not None
    assert usage()["data"][0]["quota_usage"] == 26
    assert len(box.posts()) == 51


def test_publishing_limit_without_fields_returns_only_usage(ig: Sandbox) -> None:
    resp = ig.http.get(f"/v25.0/{USER}/content_publishing_limit", params=TOKEN)
    assert resp.status_code == 200
    assert resp.json() == {"data": [{"quota_usage": 0}]}  # §2.6: config only when asked


def test_expired_token_gets_190_463_and_the_client_needs_reauth(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    box = start(instagram.create_app(expired_tokens=["old-token"], clock=Clock(T0)))
    with (
        _publisher(box, instagram_access_token="old-token") as pub,
        pytest.raises(AuthPublishError) as err,
    ):
        pub.publish(post_request, PublishProgress(), saves)
    assert (err.value.status, err.value.code) == (400, "190/463")
    raw = box.http.get(
        f"/v25.0/{USER}/content_publishing_limit", params={"access_token": "old-token"}
    )
    error = raw.json()["error"]  # §2.10 expired-token example
    assert set(error) == ENVELOPE_KEYS | {"error_subcode"}
    assert (raw.status_code, error["code"], error["error_subcode"]) == (400, 190, 463)
    assert re.fullmatch(
        r"Error validating access token: Session has expired on \w+day, \d\d-\w{3}-\d\d "
        r"\d\d:\d\d:\d\d PST\. The current time is \w+day, \d\d-\w{3}-\d\d \d\d:\d\d:\d\d PST\.",
        error["message"],
    )
    # The control endpoint expires the working token mid-run.
    assert (
        box.http.post("/_sandbox/tokens/expire", json={"token": SANDBOX_TOKEN}).status_code == 200
    )
    with _publisher(box) as pub, pytest.raises(AuthPublishError) as err:
        pub.publish(post_request, PublishProgress(), saves)
    assert err.value.code == "190/463"
    assert box.posts() == []


def test_insights_are_empty_before_the_delay(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    box = start(instagram.create_app(insights_delay_s=3600, clock=Clock(T0)))
    with _publisher(box) as pub:
        media_id = pub.publish(post_request, PublishProgress(), saves).platform_post_id
        assert media_id is not None
        raw = box.http.get(f"/v25.0/{media_id}/insights", params={"metric": "reach", **TOKEN})
        assert (raw.status_code, raw.json()) == (200, {"data": []})  # §2.8: empty, not 0
        assert pub.fetch_metrics(media_id).values == {}  # "no values yet", no crash
        box.clock(advance_s=3600)
        assert set(pub.fetch_metrics(media_id).values) == {
            "reach",
            "likes",
            "comments",
            "saved",
            "shares",
            "views",
            "total_interactions",
        }


def test_insights_with_too_few_viewers_are_code_10(
    start: Callable[[Any], Sandbox], post_request: PublishRequest, saves: Saves
) -> None:
    box = start(instagram.create_app(insights_min_reach=10**9))
    with _publisher(box) as pub:
        media_id = pub.publish(post_request, PublishProgress(), saves).platform_post_id
        assert media_id is not None
        raw = box.http.get(f"/v25.0/{media_id}/insights", params={"metric": "reach", **TOKEN})
        assert raw.status_code == 400
        error = raw.json()["error"]  # §2.8
        assert set(error) == ENVELOPE_KEYS
        assert (error["code"], error["message"]) == (
            10,
            "(#10) Not enough viewers for the media to show insights",
        )
        assert pub.fetch_metrics(media_id).values == {}


def test_a_fault_hits_exactly_the_next_n_matching_requests(ig: Sandbox) -> None:
    body = {"error": {"message": "An unexpected error has occurred.", "code": 2}}
    ig.fault(path="content_publishing_limit", count=2, status=503, body=body, headers={"X-A": "1"})
    path = f"/v25.0/{USER}/content_publishing_limit"
    other = ig.http.get(f"/v25.0/{USER}/media", params=TOKEN)
    first, second, third = (ig.http.get(path, params=TOKEN) for _ in range(3))
    assert other.status_code == 200  # a non-matching path is untouched
    for resp in (first, second):
        assert (resp.status_code, resp.json(), resp.headers["x-a"]) == (503, body, "1")
    assert third.status_code == 200 and "x-a" not in third.headers
    assert [r["outcome"] for r in ig.records(path)] == ["scripted", "scripted", "responded"]
    assert ig.http.get("/_sandbox/faults").json() == []
