"""The copy gate's judgement of one text: sentiment and brand safety, as reasons a person reads.

Pure and synchronous, so the check stage and the review endpoint (for edited copy) apply the
very same rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from briefcast.pipeline.check.profanity import contains_profanity
from briefcast.pipeline.check.sentiment import score

if TYPE_CHECKING:
    from briefcast.models.tenancy import BrandVoice


@dataclass(frozen=True)
class GateRules:
    sentiment_min: float
    avoid_words: Sequence[str] = field(default_factory=tuple)
    competitors: Sequence[str] = field(default_factory=tuple)


def rules_for(voice: BrandVoice | None, floor: float) -> GateRules:
    """The brand voice's rules; without a voice, only the deployment's sentiment floor."""
    if voice is None:
        return GateRules(sentiment_min=floor)
    return GateRules(voice.sentiment_min, tuple(voice.avoid_words), tuple(voice.competitors))


@dataclass(frozen=True)
class Verdict:
    sentiment: float
    reasons: list[str]

    @property
    def passed(self) -> bool:
        return not self.reasons


@lru_cache(maxsize=256)
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words only, any case: "Nike" must not match "Nikel", "cheap" not "cheaply".
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.I)


def _found(text: str, words: Sequence[str]) -> list[str]:
    if not words:
        return []
    hits = {m.group(1).lower() for m in _word_pattern(tuple(words)).finditer(text)}
    return sorted(hits)


def judge(text: str, rules: GateRules, flagged_categories: Sequence[str] = ()) -> Verdict:
    """Everything wrong with a text, or no reasons when it may be published."""
    reasons: list[str] = []
    sentiment = score(text).combined
    if sentiment < rules.sentiment_min:
        reasons.append(
            f"sentiment {sentiment:+.2f} is below the brand's minimum of {rules.sentiment_min:+.2f}"
        )
    if avoided := _found(text, rules.avoid_words):
        reasons.append(f"uses words the brand avoids: {', '.join(avoided)}")
    if named := _found(text, rules.competitors):
        reasons.append(f"names a competitor: {', '.join(named)}")
    if contains_profanity(text):
        reasons.append("contains profanity")
    if flagged_categories:
        reasons.append(f"moderation flagged it: {', '.join(flagged_categories)}")
    return Verdict(sentiment=sentiment, reasons=reasons)
