"""LinkedIn sandbox rules: error bodies, little text format, analytics values.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from briefcast.sandbox import audience

RESERVED = frozenset("|{}@[]()<>#*_~\\")  # §3.4 little text format
HASHTAG = re.compile(r"#\w+")  # §3.4 hashtags are markup, not stray reserved characters
MENTION = re.compile(r"@\[[^\]\\]*\]\(urn:li:(?:person|organization):[\w-]+\)")
MAX_COMMENTARY = 3000  # §3.4 [C]; over-length → 422 [I]
POST_FIELDS = {
    "author",
    "commentary",
    "visibility",
    "distribution",
    "content",
    "lifecycleState",
    "isReshareDisabledByAuthor",
    "contentLandingPage",
    "contentCallToActionLabel",
    "reshareContext",
    "container",
}
REQUIRED_POST_FIELDS = ("author", "visibility", "distribution", "lifecycleState")
DISTRIBUTION_FIELDS = {"feedDistribution", "targetEntities", "thirdPartyDistributionChannels"}
AUTHOR = re.compile(r"^urn:li:(person|organization):[\w-]+$")


class LinkedInError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def empty_token() -> LinkedInError:  # §3.7 envelope
    return LinkedInError(
        401, {"message": "Empty oauth2_access_token", "serviceErrorCode": 401, "status": 401}
    )


def bad_token() -> LinkedInError:  # §3.7 captured 401
    return LinkedInError(
        401, {"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401}
    )


def missing_version() -> LinkedInError:  # §3.1 [I: exact body unknown; use 400]
    return LinkedInError(
        400,
        {
            "status": 400,
            "code": "VERSION_MISSING",
            "message": "A version must be present. Please specify a version by adding the "
            "LinkedIn-Version header.",
        },
    )


def inactive_version(version: str) -> LinkedInError:  # §3.1 captured 426
    return LinkedInError(
        426,
        {
            "status": 426,
            "code": "NONEXISTENT_VERSION",
            "message": f"Requested version {version} is not active",
        },
    )


def throttled() -> LinkedInError:  # §3.7 captured 429; §3.8: no Retry-After is documented
    return LinkedInError(
        429,
        {
            "serviceErrorCode": 101,
            "message": "Resource level throttle limit for calls to this resource is reached.",
            "status": 429,
        },
    )


def access_denied(resource_method: str, version: str) -> LinkedInError:
    """§3.7 captured 403: "<resource>.<METHOD>.<version>", version as YYYYMM01 (202304 →
    20230401 in the capture). The resource name for posts is [I]."""
    return LinkedInError(
        403,
        {
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": f"Not enough permissions to access: {resource_method}.{version[:6]}01",
        },
    )


def illegal_argument(message: str) -> LinkedInError:  # §3.7 captured 400 shape
    return LinkedInError(400, {"status": 400, "code": "ILLEGAL_ARGUMENT", "message": message})


def not_found(what: str) -> LinkedInError:  # [I] same envelope
    return LinkedInError(404, {"status": 404, "code": "NOT_FOUND", "message": f"Not Found: {what}"})


def validation(pointer: str, problem: str) -> LinkedInError:  # §3.7 captured 422 text
    return LinkedInError(422, {"message": f"ERROR :: {pointer} :: {problem}\n", "status": 422})


def duplicate(urn: str) -> LinkedInError:  # §3.7 / §3.10 captured DUPLICATE_POST body
    return LinkedInError(
        422,
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
            f"Content is a duplicate of {urn}",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Duplicate post is detected",
                        "input": {},
                        "code": "DUPLICATE_POST",
                    }
                ]
            },
            "status": 422,
        },
    )


def visible_commentary(text: str) -> str:
    """What LinkedIn keeps: text up to the first unescaped reserved character (§3.4).

    Escaped characters, hashtags and well-formed mentions are markup and survive.
    """
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 < len(text) and text[i + 1] in RESERVED:
                i += 2
                continue
            return text[:i]
        if ch in "#@":
            m = (HASHTAG if ch == "#" else MENTION).match(text, i)
            if m:
                i = m.end()
                continue
        if ch in RESERVED:
            return text[:i]
        i += 1
    return text


# A post's final numbers at the best slot, before per-post variation: impressions, then each
# action as a share of them (§3.6 field names).
FINAL_IMPRESSIONS = 3000
UNIQUE_PER_IMPRESSION = 0.75
RATES = {"likeCount": 0.03, "commentCount": 0.006, "shareCount": 0.003, "clickCount": 0.02}


def share_statistics(urn: str, published_at: float, now: float) -> dict[str, Any]:
    """Lifetime numbers of one post at sandbox time `now` (epoch seconds, §3.6 field names).

    Final values come from the URN (a few percent of variation) and the publishing slot
    (`audience.audience_factor`, scaling both impressions and the share who act); each count
    grows towards its final value along `audience.grow`, so it never decreases with age.
    """
    factor = audience.audience_factor(published_at)
    age = now - published_at
    j = audience.jitter(urn, 2 + len(RATES))
    final = FINAL_IMPRESSIONS * factor * j[0]
    impressions = audience.grow(final, age)
    counts = audience.grown_actions(final, RATES, factor, j[2:], age)
    engaged = sum(counts.values())  # §3.6: engagement = (clicks+likes+comments+shares) / impr.
    return {
        "uniqueImpressionsCount": audience.grow(final * UNIQUE_PER_IMPRESSION * j[1], age),
        "shareCount": counts["shareCount"],
        "engagement": round(engaged / impressions, 4) if impressions else 0.0,
        "clickCount": counts["clickCount"],
        "likeCount": counts["likeCount"],
        "impressionCount": impressions,
        "commentCount": counts["commentCount"],
    }


def post_statistics(post: Post, now: float) -> dict[str, Any]:
    """`share_statistics` of a stored post: it was published when it was created."""
    return share_statistics(post.id, post.createdAt / 1000, now)


def parse_restli_list(value: str) -> list[str]:
    """`List(a,b)` (already percent-decoded) → ["a", "b"] (§3.1 Rest.li 2.0)."""
    if not (value.startswith("List(") and value.endswith(")")):
        raise illegal_argument(f"Invalid Rest.li list: {value}")
    inner = value[5:-1]
    return [v for v in inner.split(",") if v]


@dataclass
class Post:
    id: str
    author: str
    commentary: str  # as stored, i.e. after little-format truncation
    sent_commentary: str
    visibility: str
    lifecycleState: str
    distribution: dict[str, Any]
    content: dict[str, Any] | None
    createdAt: int
    media_id: str | None


def validate_post(body: dict[str, Any], images: Mapping[str, Any], now_ms: int) -> Post:
    """§3.4 schema checks, the 3000-char cap and little-format truncation."""
    for name in body:
        if name not in POST_FIELDS:
            raise validation(f"/{name}", "unrecognized field found but not allowed")
    for name in REQUIRED_POST_FIELDS:
        if name not in body:
            raise validation(f"/{name}", "field is required but not found and has no default value")
    author, commentary = body["author"], body.get("commentary", "")
    if not isinstance(author, str) or not AUTHOR.match(author):
        raise validation("/author", "invalid author URN")
    if not isinstance(commentary, str):
        raise validation("/commentary", "expected a string")
    if len(commentary) > MAX_COMMENTARY:
        raise validation("/commentary", f"length exceeds {MAX_COMMENTARY} characters")
    distribution = body["distribution"]
    if not isinstance(distribution, dict):
        raise validation("/distribution", "expected a record")
    for name in distribution:
        if name not in DISTRIBUTION_FIELDS:
            raise validation(f"/distribution/{name}", "unrecognized field found but not allowed")
    content = body.get("content")
    media_id = None
    if content is not None:
        media = content.get("media") if isinstance(content, dict) else None
        media_id = media.get("id") if isinstance(media, dict) else None
        image = images.get(media_id) if isinstance(media_id, str) else None
        if image is None or image.status != "AVAILABLE":  # §3.3 [I]
            raise validation("/content/media/id", f"media {media_id} is not AVAILABLE")
    return Post(
        id="",
        author=author,
        commentary=visible_commentary(commentary),
        sent_commentary=commentary,
        visibility=str(body["visibility"]),
        lifecycleState=str(body["lifecycleState"]),
        distribution=distribution,
        content=content,
        createdAt=now_ms,
        media_id=media_id,
    )
