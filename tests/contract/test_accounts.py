"""Multi-account sandboxes: each token acts as one account, limits are per account, and a
token cannot act for another account (docs/contracts §2.1, §2.3, §2.6, §3.4, §3.7,
§3.8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from briefcast.pipeline.adapters.instagram import InstagramPublisher
from briefcast.pipeline.adapters.linkedin import LinkedInPublisher
from briefcast.pipeline.adapters.publisher import (
    HeldPublishError,
    PermanentPublishError,
    PublishProgress,
    PublishRequest,
    TransientPublishError,
)
from briefcast.sandbox import instagram, linkedin
from briefcast.settings import SANDBOX_TOKEN
from tests.contract.helpers import Sandbox, Saves, settings_for

from .test_linkedin import AUTHOR, HEADERS, _text_post

USER = "17841400000000001"  # the default account: Settings.instagram_user_id
OTHER_USER, OTHER_IG_TOKEN = "17841400000000777", "IGQVJ-other-account"
OTHER_AUTHOR, OTHER_LI_TOKEN = "urn:li:organization:777", "AQV-other-member"


def _ig_publisher(box: Sandbox, user: str, token: str) -> InstagramPublisher:
    settings = settings_for(
        ig_url=box.server.base_url, instagram_user_id=user, instagram_access_token=token
    )
    return InstagramPublisher.from_settings(settings, poll_interval_s=0.01)


def _li_publisher(box: Sandbox, author: str, token: str) -> LinkedInPublisher:
    settings = settings_for(
        li_url=box.server.base_url, linkedin_author_urn=author, linkedin_access_token=token
    )
    return LinkedInPublisher.from_settings(settings, poll_interval_s=0.01)


def _register(box: Sandbox, **account: str) -> Any:
    return box.http.post("/_sandbox/accounts", json=account)


def _graph(box: Sandbox, method: str, path: str, token: str, **params: str) -> dict[str, Any]:
    resp = box.http.request(method, f"/v25.0/{path}", params={**params, "access_token": token})
    body: dict[str, Any] = resp.json()
    return {"status": resp.status_code, **body}


def test_a_registered_instagram_account_publishes_as_itself(
    ig: Sandbox, post_request: PublishRequest
) -> None:
    assert _register(ig, token=OTHER_IG_TOKEN, user_id=OTHER_USER).status_code == 201
    assert _register(ig, token=OTHER_IG_TOKEN, user_id=OTHER_USER).status_code == 200  # again
    with _ig_publisher(ig, OTHER_USER, OTHER_IG_TOKEN) as pub:
        result = pub.publish(post_request, PublishProgress(), Saves())

    [post] = ig.posts()
    assert (post["id"], post["owner"]) == (result.platform_post_id, OTHER_USER)
    mine = _graph(ig, "GET", f"{OTHER_USER}/media", OTHER_IG_TOKEN, fields="id")
    assert mine["data"] == [{"id": result.platform_post_id}]
    assert _graph(ig, "GET", f"{USER}/media", SANDBOX_TOKEN)["data"] == []  # not the default's
    assert ig.http.get("/_sandbox/accounts").json() == [
        {"user_id": USER, "tokens": 1},
        {"user_id": OTHER_USER, "tokens": 1},
    ]


def test_a_registered_linkedin_account_posts_as_its_author(
    li: Sandbox, post_request: PublishRequest
) -> None:
    assert _register(li, token=OTHER_LI_TOKEN, author=OTHER_AUTHOR).status_code == 201
    with _li_publisher(li, OTHER_AUTHOR, OTHER_LI_TOKEN) as pub:
        result = pub.publish(post_request, PublishProgress(), Saves())

    [post] = li.posts()
    assert (post["id"], post["author"]) == (result.platform_post_id, OTHER_AUTHOR)


@pytest.mark.parametrize(
    ("platform", "account"),
    [
        ("instagram", {"token": "t", "user_id": "not-numeric"}),
        ("instagram", {"token": "", "user_id": OTHER_USER}),
        ("linkedin", {"token": "t", "author": "urn:li:share:1"}),
    ],
)
def test_a_malformed_account_is_refused(
    ig: Sandbox, li: Sandbox, platform: str, account: dict[str, str]
) -> None:
    assert _register(ig if platform == "instagram" else li, **account).status_code == 400


def test_a_token_belongs_to_one_account_and_a_reset_forgets_registered_ones(ig: Sandbox) -> None:
    assert _register(ig, token=OTHER_IG_TOKEN, user_id=OTHER_USER).status_code == 201
    taken = _register(ig, token=SANDBOX_TOKEN, user_id=OTHER_USER)
    assert taken.status_code == 409  # the default token keeps acting as the default user
    assert _graph(ig, "GET", f"{OTHER_USER}/media", OTHER_IG_TOKEN)["status"] == 200

    assert ig.http.post("/_sandbox/reset").status_code == 200
    refused = _graph(ig, "GET", f"{OTHER_USER}/media", OTHER_IG_TOKEN)
    assert (refused["status"], refused["error"]["code"]) == (400, 190)  # §2.10 unknown token
    assert _graph(ig, "GET", f"{USER}/media", SANDBOX_TOKEN)["status"] == 200  # configured


def test_instagram_quota_and_container_cap_are_per_user(
    start: Callable[[Any], Sandbox], post_request: PublishRequest
) -> None:
    box = start(instagram.create_app(quota_total=1, container_limit=2))
    _register(box, token=OTHER_IG_TOKEN, user_id=OTHER_USER)
    with _ig_publisher(box, USER, SANDBOX_TOKEN) as pub:
        pub.publish(post_request, PublishProgress(), Saves())
        with pytest.raises(HeldPublishError):  # §2.6: the default user's quota is spent
            pub.publish(post_request, PublishProgress(), Saves())
    # Two containers made: the default user's cap is reached too (§2.3).
    capped = _graph(box, "POST", f"{USER}/media", SANDBOX_TOKEN, image_url=post_request.image_url)
    assert (capped["error"]["code"], capped["error"]["error_subcode"]) == (9, 2207042)

    with _ig_publisher(box, OTHER_USER, OTHER_IG_TOKEN) as pub:  # another user is not held
        result = pub.publish(post_request, PublishProgress(), Saves())
    assert result.platform_post_id is not None
    for user, token in ((USER, SANDBOX_TOKEN), (OTHER_USER, OTHER_IG_TOKEN)):
        limit = _graph(box, "GET", f"{user}/content_publishing_limit", token)
        assert limit["data"] == [{"quota_usage": 1}]
    assert sorted(p["owner"] for p in box.posts()) == sorted([USER, OTHER_USER])


def test_linkedin_member_throttle_is_per_account(
    start: Callable[[Any], Sandbox], post_request: PublishRequest
) -> None:
    box = start(linkedin.create_app(member_daily_limits={"POST /rest/posts": 1}))
    _register(box, token=OTHER_LI_TOKEN, author=OTHER_AUTHOR)
    with _li_publisher(box, AUTHOR, SANDBOX_TOKEN) as pub:
        pub.publish(post_request, PublishProgress(), Saves())
        with pytest.raises(TransientPublishError) as err:  # §3.8: this member's day is used
            pub.publish(post_request, PublishProgress(), Saves())
    assert err.value.status == 429
    with _li_publisher(box, OTHER_AUTHOR, OTHER_LI_TOKEN) as pub:
        assert pub.publish(post_request, PublishProgress(), Saves()).platform_post_id


def test_an_instagram_token_cannot_act_for_another_user(
    ig: Sandbox, post_request: PublishRequest
) -> None:
    _register(ig, token=OTHER_IG_TOKEN, user_id=OTHER_USER)
    mine = _graph(ig, "POST", f"{USER}/media", SANDBOX_TOKEN, image_url=post_request.image_url)
    for method, path, params in (
        ("POST", f"{USER}/media", {"image_url": post_request.image_url}),
        ("POST", f"{USER}/media_publish", {"creation_id": mine["id"]}),
        ("GET", f"{USER}/content_publishing_limit", {}),
        ("GET", f"{USER}/media", {}),
    ):
        refused = _graph(ig, method, path, OTHER_IG_TOKEN, **params)
        assert refused["status"] == 400
        error = refused["error"]  # §2.10: Graph's "does not exist … missing permissions" 100/33
        assert (error["code"], error["error_subcode"]) == (100, 33)
        assert error["type"] == "GraphMethodException"
        assert error["message"].startswith(
            f"Unsupported {method.lower()} request. Object with ID '{USER}' does not exist"
        )
    # The other user's container reads as missing too, however its id was learnt.
    status = _graph(ig, "GET", mine["id"], OTHER_IG_TOKEN, fields="status_code")
    assert (status["status"], status["error"]["code"]) == (400, 100)

    with _ig_publisher(ig, USER, OTHER_IG_TOKEN) as pub, pytest.raises(PermanentPublishError):
        pub.publish(post_request, PublishProgress(), Saves())
    assert ig.posts() == []


def test_a_linkedin_token_cannot_post_as_another_author(
    li: Sandbox, post_request: PublishRequest
) -> None:
    _register(li, token=OTHER_LI_TOKEN, author=OTHER_AUTHOR)
    other_token = {**HEADERS, "Authorization": f"Bearer {OTHER_LI_TOKEN}"}
    refused = li.http.post("/rest/posts", json=_text_post("Not mine to post"), headers=other_token)
    assert (refused.status_code, refused.json()) == (  # §3.7 captured 403 shape
        403,
        {
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260801",
        },
    )
    with _li_publisher(li, AUTHOR, OTHER_LI_TOKEN) as pub, pytest.raises(PermanentPublishError):
        pub.publish(post_request, PublishProgress(), Saves())
    assert li.posts() == []
