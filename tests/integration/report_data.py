"""Published posts with readings, copy and a stored image, for the report and chart tests."""

from __future__ import annotations

import io
import uuid
from datetime import datetime

from PIL import Image

from briefcast.models import Post
from briefcast.models.session import worker_session
from briefcast.pipeline.render.storage import LocalMediaStore
from briefcast.settings import get_settings
from tests.integration.analytics_data import published_post

# Stored under the API's names (instagram: saved; linkedin: likes, shares), growing over time.
READINGS = {
    "instagram": {
        900: {"reach": 100, "views": 130, "likes": 5, "comments": 1, "saved": 1, "shares": 0},
        3600: {"reach": 400, "views": 520, "likes": 20, "comments": 4, "saved": 3, "shares": 1},
    },
    "linkedin": {
        900: {"impressions": 200, "unique_impressions": 150, "clicks": 4, "likes": 3,
              "comments": 1, "shares": 0},
        3600: {"impressions": 900, "unique_impressions": 700, "clicks": 20, "likes": 12,
               "comments": 3, "shares": 2},
    },
}  # fmt: skip


def stored_image(colour: tuple[int, int, int]) -> str:
    """A real JPEG in the media store; returns its key."""
    out = io.BytesIO()
    Image.new("RGB", (640, 640), colour).save(out, format="JPEG")
    return LocalMediaStore(get_settings().media_root).put(out.getvalue())


def post_with_copy(
    *,
    org: str,
    platform: str,
    published_at: datetime,
    caption: str,
    likes_x: int = 1,
    campaign_id: uuid.UUID | None = None,
    colour: tuple[int, int, int] = (46, 125, 50),
) -> uuid.UUID:
    """A published post with two readings (likes times `likes_x`, so posts' engagement rates
    differ), copy and an image."""
    readings = {
        offset: {**metrics, "likes": metrics["likes"] * likes_x}
        for offset, metrics in READINGS[platform].items()
    }
    post_id = published_post(
        org=org,
        platform=platform,
        published_at=published_at,
        readings=readings,
        campaign_id=campaign_id,
    )
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.caption = caption
        post.headline = caption.split(".")[0]
        post.image_path = stored_image(colour)
    return post_id
