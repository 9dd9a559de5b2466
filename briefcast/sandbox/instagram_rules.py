"""Instagram sandbox rules: Graph error catalogue, media checks, insight values.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from PIL import Image, UnidentifiedImageError

from briefcast.sandbox import audience

MAX_IMAGE_BYTES = 8 * 1024 * 1024  # §2.9 "should be less than 8 MiB"
MIN_RATIO, MAX_RATIO = 0.8, 1.91  # §2.9 4:5 .. 1.91:1
MAX_CAPTION, MAX_HASHTAGS, MAX_MENTIONS = 2200, 30, 20  # §2.3 / §2.9
HASHTAG = re.compile(r"#\w+")
MENTION = re.compile(r"@[\w.]+")

# §2.8 current metrics for FEED images; the deprecated ones are refused with code 100.
FEED_METRICS = (
    "reach",
    "likes",
    "comments",
    "saved",
    "shares",
    "views",
    "total_interactions",
    "follows",
    "profile_visits",
    "profile_activity",
)
METRIC_TITLES = {m: m.replace("_", " ").capitalize() for m in FEED_METRICS}


@dataclass
class GraphError(Exception):
    """A Graph API error; rendered as the §2.10 envelope, HTTP 400 unless told otherwise."""

    code: int
    message: str
    subcode: int | None = None
    user_title: str | None = None
    user_msg: str | None = None
    is_transient: bool = False
    status: int = 400
    type: str = "OAuthException"

    def envelope(self, fbtrace_id: str) -> dict[str, object]:
        err: dict[str, object] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        err["is_transient"] = self.is_transient  # §2.10: Instagram responses carry it
        if self.user_title:
            err["error_user_title"] = self.user_title
        if self.user_msg:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = fbtrace_id
        return {"error": err}


def bad_token() -> GraphError:  # §2.10 code 190
    return GraphError(190, "Invalid OAuth access token - Cannot parse access token")


PST = timezone(timedelta(hours=-8), "PST")  # §2.10 sample prints Pacific time


def _meta_time(epoch_s: float) -> str:  # "Thursday, 01-Jan-26 00:00:00 PST"
    return datetime.fromtimestamp(epoch_s, UTC).astimezone(PST).strftime("%A, %d-%b-%y %H:%M:%S %Z")


def expired_token(expired_at: float, now: float) -> GraphError:  # §2.10 190/463 example
    return GraphError(
        190,
        f"Error validating access token: Session has expired on {_meta_time(expired_at)}. "
        f"The current time is {_meta_time(now)}.",
        463,
    )


def missing_param(name: str) -> GraphError:  # §2.10 code 100 [I wording]
    return GraphError(100, f"(#100) The parameter {name} is required")


def unknown_object(node_id: str, method: str = "get") -> GraphError:
    """Graph's code 100/33 [I wording]: one answer for an object that does not exist and one
    the token may not use (another user's), so a token cannot probe other accounts."""
    return GraphError(
        100,
        f"Unsupported {method} request. Object with ID '{node_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        subcode=33,
        type="GraphMethodException",
    )


def fetch_failed(url: str) -> GraphError:  # §2.10 9004/2207052
    return GraphError(
        9004,
        "Only photo or video can be accepted as media type.",
        2207052,
        "Media download has failed.",
        f"The media could not be fetched from this uri: {url}",
    )


def not_ready() -> GraphError:  # §2.5 9007/2207027
    return GraphError(
        9007,
        "Media ID is not available",
        2207027,
        "Media not ready for publishing",
        "The media is not ready for publishing, please wait for a moment",
    )


def quota_reached() -> GraphError:  # §2.5 9/2207042
    return GraphError(
        9,
        "Application request limit reached",
        2207042,
        "Maximum number of posts reached",
        "You reached maximum number of posts that is allowed to be published by Content "
        "Publish API",
    )


def container_limit_reached(limit: int) -> GraphError:
    """§2.3 caps containers at 400 per rolling 24 h [V] but names no error. [I]: answer in the
    §2.5 publishing-limit family (9/2207042) so clients wait for the window, as for the quota."""
    return GraphError(
        9,
        "Application request limit reached",
        2207042,
        "Maximum number of containers reached",
        f"You reached the maximum of {limit} media containers allowed in a 24 hour period",
    )


def not_enough_viewers() -> GraphError:  # §2.8 [V] code 10 for low reach
    return GraphError(10, "(#10) Not enough viewers for the media to show insights")


def expired_container() -> GraphError:  # §2.5 -2/2207020
    return GraphError(
        -2,
        "The media you are trying to access has expired",
        2207020,
        "Media expired",
        "The media you are trying to access has expired. Please try again.",
    )


def already_published() -> GraphError:  # §2.5 [I]: code 100 for a PUBLISHED container
    return GraphError(100, "(#100) The media has already been published")


def check_caption(caption: str) -> None:
    """§2.9: 36004/2207010 for a long caption or too many hashtags / mentions."""
    if (
        len(caption) > MAX_CAPTION
        or len(HASHTAG.findall(caption)) > MAX_HASHTAGS
        or len(MENTION.findall(caption)) > MAX_MENTIONS
    ):
        raise GraphError(
            36004,
            "The caption is too long.",
            2207010,
            "Caption exceeded maximum characters or hashtag/mention limit",
            f"The caption must be at most {MAX_CAPTION} characters with at most "
            f"{MAX_HASHTAGS} hashtags and {MAX_MENTIONS} mentions.",
        )


def check_image(data: bytes) -> tuple[int, int]:
    """§2.9: size, then JPEG only, then aspect ratio. Returns (width, height)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise GraphError(
            36000,
            "The image size is too large.",
            2207004,
            "Image size too large",
            "The image is too large to download. It should be less than 8 MiB.",
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
    except (UnidentifiedImageError, OSError):
        fmt, width, height = None, 0, 0
    if fmt != "JPEG":
        raise GraphError(
            36001,
            "The image format is not supported.",
            2207005,
            "Unsupported format",
            "The image format is not supported. Supported formats are: JPEG",
        )
    ratio = width / height
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        raise GraphError(
            36003,
            f"The submitted image with aspect ratio ('{width}/{height}') cannot be published. "
            "Please submit an image with a valid aspect ratio.",
            2207009,
            "Invalid aspect ratio",
            "The image aspect ratio must be between 4:5 and 1.91:1.",
        )
    return width, height


# A feed post's final numbers at the best slot, before per-post variation: accounts reached,
# then each interaction as a share of them (§2.8 metric names).
FINAL_REACH = 2000
VIEWS_PER_REACH = 1.4
RATES = {"likes": 0.05, "comments": 0.008, "saved": 0.006, "shares": 0.004}
PROFILE_VISIT_RATE = 0.02


def insight_values(media_id: str, published_at: float, now: float) -> dict[str, int]:
    """Lifetime numbers of one media at sandbox time `now` (epoch seconds).

    Final values come from the media id (a few percent of variation) and the publishing slot
    (`audience.audience_factor`, scaling both reach and the share who interact); each count
    grows towards its final value along `audience.grow`, so it never decreases with age.
    """
    factor = audience.audience_factor(published_at)
    age = now - published_at
    j = audience.jitter(media_id, 3 + len(RATES))
    reach_final = FINAL_REACH * factor * j[0]
    reach = audience.grow(reach_final, age)
    counts = audience.grown_actions(reach_final, RATES, factor, j[3:], age)
    visits = audience.grow(reach_final * PROFILE_VISIT_RATE * factor * j[2], age)
    return {
        "reach": reach,
        **counts,
        "views": audience.grow(reach_final * VIEWS_PER_REACH * j[1], age),
        "total_interactions": sum(counts.values()),
        "follows": visits // 4,
        "profile_visits": visits,
        "profile_activity": visits // 2,
    }


def unsupported_metric(index: int) -> GraphError:  # §2.8 [I wording]
    return GraphError(
        100,
        f"(#100) metric[{index}] must be one of the following values: " + ", ".join(FEED_METRICS),
    )
