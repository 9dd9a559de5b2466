"""Sentiment score for copy: VADER and TextBlob combined, both fully offline.

VADER comes from `vaderSentiment`, the reference implementation, whose wheel ships the lexicon
(NLTK's port would need a runtime download of the same file). TextBlob's pattern analyser ships
its lexicon too. VADER is weighted higher: it reads social text (emoji, caps, "!!!") better.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

VADER_WEIGHT = 0.75


@dataclass(frozen=True)
class SentimentScore:
    vader: float  # compound, -1..1
    textblob: float  # polarity, -1..1
    combined: float


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def score(text: str) -> SentimentScore:
    vader = float(_vader().polarity_scores(text)["compound"])
    blob = float(TextBlob(text).sentiment.polarity)
    combined = VADER_WEIGHT * vader + (1 - VADER_WEIGHT) * blob
    return SentimentScore(
        vader=round(vader, 4), textblob=round(blob, 4), combined=round(combined, 4)
    )
