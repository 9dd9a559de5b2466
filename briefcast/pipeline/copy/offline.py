"""A deterministic copywriter for machines without an OpenAI key.

Same brief, same copy: it assembles the brief's own words into each platform's shape, so the
whole pipeline runs offline. It follows the brand voice where words alone can: key points that
name an avoided word or a competitor are left out, and the voice's hashtags come first.
Every result is labelled `offline-copywriter`.
"""

from __future__ import annotations

import re

from briefcast.pipeline.copy.model import CopyBrief, CopyResult, PlatformCopy
from briefcast.pipeline.copy.rules import CAPTION_LIMITS

SOURCE = "offline-copywriter"

_STOPWORDS = frozenset(
    (
        "a an and are as at be by for from how in into is it its of on or our the this to we "
        "with your you new"
    ).split()
)
# One opener per A/B variant; variant n uses the n-th (cycling).
_OPENERS = {
    "instagram": ("✨ {topic}", "{topic} 👟", "New: {topic}"),
    "linkedin": ("{topic}", "News from us: {topic}", "{topic}: here is what it means"),
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


def _allowed_points(brief: CopyBrief) -> list[str]:
    if brief.voice is None:
        return list(brief.key_points)
    banned = [*brief.voice.avoid_words, *brief.voice.competitors]
    if not banned:
        return list(brief.key_points)
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in banned) + r")\b", re.I)
    return [point for point in brief.key_points if not pattern.search(point)]


def _caption(brief: CopyBrief, platform: str, hashtags: list[str], variant: int = 0) -> str:
    """Opener, key points, call to action, hashtags; trailing points go if over the limit."""
    openers = _OPENERS.get(platform, ("{topic}",))
    opener = openers[variant % len(openers)].format(topic=brief.topic.rstrip("."))
    bullet = "• " if platform == "linkedin" else "— "
    points = [bullet + point.rstrip(".") + "." for point in _allowed_points(brief)]
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
            limit = 5 if platform == "instagram" else 3
            own = brief.voice.hashtag_sets if brief.voice else []
            found = _hashtags(brief.topic, _allowed_points(brief), limit)
            hashtags = list(dict.fromkeys([*own, *found]))[:limit]
            for index in range(brief.variants):
                variants.append(
                    PlatformCopy(
                        platform=platform,
                        caption=_caption(brief, platform, hashtags, index),
                        hashtags=hashtags,
                        headline=brief.topic.strip()[:120],
                        alt_text=f"Graphic with the headline: {brief.topic.strip()[:200]}",
                        call_to_action=_CALL_TO_ACTION.get(platform, ""),
                    )
                )
        return CopyResult(variants=variants, source=SOURCE)
