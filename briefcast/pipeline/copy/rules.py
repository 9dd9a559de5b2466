"""Platform rules for copy, enforced after a model answers: its word is not trusted."""

from __future__ import annotations

from briefcast.pipeline.copy.model import PlatformCopy

# Instagram §2.9 and LinkedIn §3.4 of docs/contracts/.
CAPTION_LIMITS = {"instagram": 2200, "linkedin": 3000}
HASHTAG_LIMITS = {"instagram": 30, "linkedin": 5}


def full_text(copy: PlatformCopy) -> str:
    """What is posted: the caption, then the hashtags not already in it."""
    extra = [tag for tag in copy.hashtags if tag not in copy.caption]
    return f"{copy.caption}\n\n{' '.join(extra)}" if extra else copy.caption


def violations(copy: PlatformCopy, hashtag_cap: int | None = None) -> list[str]:
    problems = []
    limit = CAPTION_LIMITS.get(copy.platform, 2200)
    length = len(full_text(copy))
    if length > limit:
        problems.append(
            f"{copy.platform}: the caption with its hashtags is {length} characters; "
            f"the limit is {limit}"
        )
    cap = hashtag_cap if hashtag_cap is not None else HASHTAG_LIMITS.get(copy.platform, 30)
    if len(copy.hashtags) > cap:
        problems.append(f"{copy.platform}: {len(copy.hashtags)} hashtags; at most {cap}")
    if not all(tag.startswith("#") and " " not in tag for tag in copy.hashtags):
        problems.append(f"{copy.platform}: every hashtag must start with # and have no spaces")
    if not copy.caption.strip():
        problems.append(f"{copy.platform}: the caption is empty")
    return problems
