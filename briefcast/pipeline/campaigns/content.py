"""What one campaign occurrence posts: the template, then its item, then its override."""

from __future__ import annotations

from typing import Any

# Defaults a brief falls back on; the API's brief schema uses the same ones.
DEFAULT_COLOR = "#1F4E79"
DEFAULT_BRAND_VOICE = "clear, warm and confident"
# The brief fields an item (or an occurrence's override) may set; the template holds the rest.
ITEM_FIELDS = (
    "topic",
    "key_points",
    "quote",
    "attribution",
    "photo_url",
    "photo_upload_id",
    "template",
)


def brief_fields(
    template: dict[str, Any], item: dict[str, Any], override: dict[str, Any]
) -> dict[str, Any]:
    """The brief for one occurrence: later sources win, field by field."""
    return {**template, **item, **override}
