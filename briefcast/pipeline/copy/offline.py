"""A deterministic copywriter for machines without an OpenAI key.

Same brief, same copy: it assembles the brief's own words into each platform's shape, so the
whole pipeline runs offline. Every result is labelled `offline-copywriter`.
"""

from __future__ import annotations

import re

from briefcast.pipeline.copy.model import CAPTION_LIMITS, CopyBrief, CopyResult, PlatformCopy

SOURCE = "offline-copywriter"

_STOPWORDS = frozenset(
    (
        "a an and are as at be by for from how in into is it its of on or our the this to we "
        "with your you new"
    ).split()
)
_OPENERS = {
    "instagram": "✨ {topic}",
    "linkedin": "{topic}",
}
_CALL_TO_ACTION = {
    "instagram": "Tap the link in bio to learn more.",
    "linkedin": "Read more and tell us what you think in the comments.",
}


def _hashtags(topic: str, key_points: list[str], limit: int) -> list[str]:
    # Letters of any script, so "café" stays one word (a hashtag may hold digits after them).
    words = re.findall(r"[^\W\d_][^\W_]*", " ".join([topic, *key_points]))
    tags: list[str] = []
    for word in words:
        if word.lower() in _STOPWORDS or len(word) < 4:
            continue
        tag = "#" + word[0].upper() + word[1:].lower()
        if tag not in tags:
            tags.append(tag)
        if len(tags) == limit:
            break
    return tags


def _caption(brief: CopyBrief, platform: str, hashtags: list[str]) -> str:
    """Opener, key points, call to action, hashtags; trailing points go if over the limit."""
    opener = _OPENERS.get(platform, "{topic}").format(topic=brief.topic.rstrip("."))
    bullet = "• " if platform == "linkedin" else "— "
    points = [bullet + point.rstrip(".") + "." for point in brief.key_points]
    limit = CAPTION_LIMITS.get(platform, 2200)
    while True:
        parts = [opener, "\n".join(points), _CALL_TO_ACTION.get(platform, ""), " ".join(hashtags)]
        caption = "\n\n".join(part for part in parts if part)
        if len(caption) <= limit or not points:
            return caption[:limit]
        points.pop()


class OfflineCopywriter:
    name = SOURCE

    def write(self, brief: CopyBrief) -> CopyResult:
        variants = []
        for platform in brief.platforms:
            hashtags = _hashtags(brief.topic, brief.key_points, 5 if platform == "instagram" else 3)
            variants.append(
                PlatformCopy(
                    platform=platform,
                    caption=_caption(brief, platform, hashtags),
                    hashtags=hashtags,
                    headline=brief.topic.strip()[:120],
                    alt_text=f"Graphic with the headline: {brief.topic.strip()[:200]}",
                    call_to_action=_CALL_TO_ACTION.get(platform, ""),
                )
            )
        return CopyResult(variants=variants, source=SOURCE)
