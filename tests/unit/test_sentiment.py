"""Sentiment: VADER and TextBlob combined, VADER weighted higher."""

from __future__ import annotations

import pytest

from briefcast.pipeline.check.sentiment import VADER_WEIGHT, score

POSITIVE = [
    "We love this wonderful, amazing new blend! Great taste and a fantastic team.",
    "Thrilled and proud to share our best, most delightful release yet!",
]
NEGATIVE = [
    "This is a terrible, awful disaster. We hate how horrible and broken it is.",
    "Worst launch ever: sad, angry customers and a painful, ugly failure.",
]
NEUTRAL = [
    "The meeting is on Tuesday at 10:00 in room 4.",
    "The report lists the shipping dates for each warehouse.",
]
ALL = POSITIVE + NEGATIVE + NEUTRAL


def test_weight_favours_vader() -> None:
    assert 0.5 < VADER_WEIGHT <= 1.0


@pytest.mark.parametrize("text", POSITIVE)
def test_clearly_positive(text: str) -> None:
    result = score(text)
    assert result.combined > 0.3
    assert result.vader > 0 and result.textblob > 0


@pytest.mark.parametrize("text", NEGATIVE)
def test_clearly_negative(text: str) -> None:
    result = score(text)
    assert result.combined < -0.3
    assert result.vader < 0 and result.textblob < 0


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_near_zero(text: str) -> None:
    result = score(text)
    assert abs(result.combined) < 0.1
    assert abs(result.vader) < 0.1 and abs(result.textblob) < 0.1


@pytest.mark.parametrize("text", ALL)
def test_combined_is_weighted_mean_of_parts(text: str) -> None:
    result = score(text)
    expected = VADER_WEIGHT * result.vader + (1 - VADER_WEIGHT) * result.textblob
    # Parts and combined are each rounded to 4 decimals.
    assert result.combined == pytest.approx(expected, abs=2e-4)
    low, high = sorted((result.vader, result.textblob))
    assert low - 1e-4 <= result.combined <= high + 1e-4
    for part in (result.vader, result.textblob, result.combined):
        assert -1.0 <= part <= 1.0


@pytest.mark.parametrize("text", ALL)
def test_combined_lies_closer_to_vader(text: str) -> None:
    result = score(text)
    assert abs(result.combined - result.vader) <= abs(result.combined - result.textblob) + 1e-4


def test_empty_text_scores_zero() -> None:
    result = score("")
    assert (result.vader, result.textblob, result.combined) == (0.0, 0.0, 0.0)


def test_deterministic() -> None:
    assert score(POSITIVE[0]) == score(POSITIVE[0])
