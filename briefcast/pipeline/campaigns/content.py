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


PHOTO_FIELDS = ("photo_url", "photo_upload_id")


def brief_fields(
    template: dict[str, Any], item: dict[str, Any], override: dict[str, Any]
) -> dict[str, Any]:
    """The brief for one occurrence: later sources win, field by field; a photo is one
    field in two forms, so a later source's photo replaces an earlier one's either way."""
    fields: dict[str, Any] = {}
    for source in (template, item, override):
        if any(source.get(name) for name in PHOTO_FIELDS):
            for name in PHOTO_FIELDS:
                fields.pop(name, None)
        fields.update(source)
    return fields
