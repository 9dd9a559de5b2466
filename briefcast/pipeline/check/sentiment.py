"""Sentiment score for copy: VADER and TextBlob pooled as evidence, both offline (their
wheels ship the lexicons).

The score, with VADER's own scale and thresholds (+-0.05):

    x_vader  = VADER's raw valence sum (before its squash), on its lexicon's -4..+4 scale
    x_blob   = 4 * the sum of pattern's per-chunk polarities (its -1..+1 lexicon on -4..+4;
               a sum like VADER's, so a long opinionated text is not rated as one word)
    x        = x_vader                                          if pattern found no polar word
             = VADER_WEIGHT * x_vader + (1 - VADER_WEIGHT) * x_blob   otherwise
    score    = x / sqrt(x**2 + 15)                              (VADER's alpha)

Why: averaging VADER's squashed compound with TextBlob's mean polarity mixes quantities of
different scale, and TextBlob's 0.0 for "found nothing" would pull every such text towards
neutral. Pooling the raw evidence where both mean the same thing avoids both; VADER never
abstains (its lexicon of ~7,500 tokens covers slang, emoticons and emoji), TextBlob does.

Text is read as the lexicons were rated, each fix for a class of input, none with a
parameter: HTML entities decoded; emoji presentation selectors (U+FE0E/F) dropped so VADER
sees the emoji; elongated unknown words ("soooo") shortened to the first form VADER knows;
VADER's 14 doubly-rated tokens (cjhutto/vaderSentiment#122) given the mean of both ratings.
Every constant is VADER's published one, the lexicons' shared endpoint (4) or the prior
weight; nothing is fitted to a benchmark (`python -m bench.sentiment` measures it).
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from textblob.en import sentiment as _pattern_sentiment
from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentimentIntensityAnalyzer

# pattern's lexicon loads on first use, and two worker threads loading it at once break it
# ("dictionary changed size during iteration", a failed check stage): load it now, while the
# import is still single-threaded.
_pattern_sentiment("good")

#: Share of VADER in the pooled raw valence when TextBlob has evidence (pre-existing prior).
VADER_WEIGHT = 0.75
#: VADER's normalisation constant, ``x / sqrt(x**2 + alpha)`` (vaderSentiment.normalize).
VADER_ALPHA = 15.0
#: Scale of VADER's lexicon valences (-4..+4); pattern's polarities (-1..+1) are mapped onto it.
VALENCE_SCALE = 4.0
#: Three-class thresholds on `combined`: VADER's published thresholds for `compound`,
#: valid here because `combined` is squashed exactly like `compound`.
NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05


#: Unicode text/emoji presentation selectors; meaningless for sentiment, but they hide emoji
#: from VADER's emoji table.
_DROP_SELECTORS = str.maketrans("", "", "\ufe0e\ufe0f")


@dataclass(frozen=True)
class SentimentScore:
    vader: float  # VADER compound, -1..1
    textblob: float  # TextBlob (pattern) polarity, -1..1
    combined: float  # pooled score, -1..1, same scale as VADER compound


#: A letter repeated three or more times: "sooo", "YESSS".
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")


class _RawVader(SentimentIntensityAnalyzer):  # type: ignore[misc]  # vaderSentiment: untyped
    """VADER that also reports the raw valence sum it squashes into `compound`, with its
    lexicon's duplicated entries averaged rather than last-one-wins."""

    def make_lex_dict(self) -> dict[str, float]:
        ratings: dict[str, list[float]] = defaultdict(list)
        for line in self.lexicon_full_filepath.splitlines():
            if line.strip():
                word, measure = line.strip().split("\t")[0:2]
                ratings[word].append(float(measure))
        return {word: math.fsum(values) / len(values) for word, values in ratings.items()}

    def score_valence(self, sentiments: list[float], text: str) -> dict[str, float]:
        result: dict[str, float] = super().score_valence(sentiments, text)
        raw = float(sum(sentiments)) if sentiments else 0.0
        if raw:
            # Same punctuation emphasis VADER adds before normalising.
            emphasis = float(self._punctuation_emphasis(text))
            raw = raw + emphasis if raw > 0 else raw - emphasis
        result["raw"] = raw
        return result


@lru_cache(maxsize=1)
def _vader() -> _RawVader:
    return _RawVader()


def _known(word: str) -> bool:
    """A word VADER reads: rated in its lexicon, or an intensifier ("so", "very")."""
    lowered = word.lower()
    return lowered in _vader().lexicon or lowered in BOOSTER_DICT


def _shorten_elongated(token: str) -> str:
    word = token.strip(".,!?;:'\"()")
    if not word or _known(word):
        return token
    for run in (r"\1\1", r"\1"):  # the run cut to two letters, then to one
        shorter = _ELONGATED.sub(run, word)
        if _known(shorter):
            return token.replace(word, shorter)
    return token


def _normalise(text: str) -> str:
    text = html.unescape(text).translate(_DROP_SELECTORS)
    if not _ELONGATED.search(text):
        return text
    return " ".join(_shorten_elongated(token) for token in text.split(" "))


def _squash(x: float) -> float:
    return max(-1.0, min(1.0, x / math.sqrt(x * x + VADER_ALPHA)))


def classify(combined: float) -> int:
    """-1 negative, 0 neutral, +1 positive, at the gate's thresholds."""
    if combined < NEGATIVE_BELOW:
        return -1
    if combined > POSITIVE_ABOVE:
        return 1
    return 0


def score(text: str) -> SentimentScore:
    text = _normalise(text)
    vader: dict[str, Any] = _vader().polarity_scores(text)
    blob = _pattern_sentiment(text)  # same analyser and result as TextBlob(text).sentiment
    polarity = float(blob[0])
    x = float(vader["raw"])
    polarities = [float(a[1]) for a in blob.assessments]
    if any(polarities):  # else pattern abstains: it found no polar word
        x_blob = VALENCE_SCALE * math.fsum(polarities)
        x = VADER_WEIGHT * x + (1 - VADER_WEIGHT) * x_blob
    return SentimentScore(
        vader=round(float(vader["compound"]), 4),
        textblob=round(polarity, 4),
        combined=round(_squash(x), 4),
    )
