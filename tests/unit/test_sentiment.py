"""Sentiment: VADER and TextBlob pooled in VADER's raw valence space, VADER weighted higher."""

from __future__ import annotations

import math

import pytest

from briefcast.pipeline.check import sentiment
from briefcast.pipeline.check.sentiment import (
    NEGATIVE_BELOW,
    POSITIVE_ABOVE,
    VADER_ALPHA,
    VADER_WEIGHT,
    classify,
    score,
)

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
EXTREME = [
    "great " * 200,
    "AWFUL HORRIBLE TERRIBLE!!!! " * 100,
    "Best best BEST ever!!!! 😍😍😍 love love love",
    "Worst. Hate it. Disgusting!!! 😡😢💩 never again, terrible terrible",
]
ALL = POSITIVE + NEGATIVE + NEUTRAL + EXTREME


def test_thresholds_are_a_band_around_zero() -> None:
    assert -1.0 < NEGATIVE_BELOW < 0.0 < POSITIVE_ABOVE < 1.0
    assert classify(NEGATIVE_BELOW - 0.01) == -1
    assert classify(0.0) == 0
    assert classify(POSITIVE_ABOVE + 0.01) == 1


def test_weight_favours_vader() -> None:
    assert 0.5 < VADER_WEIGHT <= 1.0


@pytest.mark.parametrize("text", POSITIVE)
def test_clearly_positive(text: str) -> None:
    result = score(text)
    assert result.combined > POSITIVE_ABOVE
    assert result.combined > 0.3
    assert classify(result.combined) == 1
    assert result.vader > 0 and result.textblob > 0


@pytest.mark.parametrize("text", NEGATIVE)
def test_clearly_negative(text: str) -> None:
    result = score(text)
    assert result.combined < NEGATIVE_BELOW
    assert result.combined < -0.3
    assert classify(result.combined) == -1
    assert result.vader < 0 and result.textblob < 0


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_classified_neutral(text: str) -> None:
    result = score(text)
    assert classify(result.combined) == 0
    assert NEGATIVE_BELOW <= result.combined <= POSITIVE_ABOVE
    assert abs(result.vader) < 0.1 and abs(result.textblob) < 0.1


@pytest.mark.parametrize(
    "ladder",
    [
        ["good", "very good", "extremely good!!!"],
        ["bad", "very bad", "extremely bad!!!"],
        [
            "The launch went well.",
            "The launch went very well!",
            "The launch went AMAZINGLY well!!!",
        ],
    ],
)
def test_monotonic_in_intensity(ladder: list[str]) -> None:
    magnitudes = [abs(score(text).combined) for text in ladder]
    assert magnitudes[0] > POSITIVE_ABOVE
    assert magnitudes == sorted(magnitudes)
    assert len(set(magnitudes)) == len(magnitudes)  # strictly increasing


def test_positive_ladder_keeps_its_sign() -> None:
    values = [score(t).combined for t in ("good", "very good", "extremely good!!!")]
    assert all(v > 0 for v in values)
    assert values[0] < values[1] < values[2]


@pytest.mark.parametrize(
    ("plain", "negated"),
    [
        ("good", "not good"),
        ("The service was good.", "The service was not good."),
        ("This is a great product.", "This is not a great product."),
        ("The update is bad.", "The update isn't bad."),
    ],
)
def test_negation_flips_sign(plain: str, negated: str) -> None:
    before, after = score(plain).combined, score(negated).combined
    assert before != 0 and after != 0
    assert math.copysign(1, before) != math.copysign(1, after)


@pytest.mark.parametrize("text", ALL)
def test_bounded(text: str) -> None:
    result = score(text)
    for part in (result.vader, result.textblob, result.combined):
        assert -1.0 <= part <= 1.0


@pytest.mark.parametrize("text", EXTREME)
def test_extremes_saturate_without_overflow(text: str) -> None:
    assert abs(score(text).combined) > 0.9


@pytest.mark.parametrize(
    ("text", "sign"),
    [("😀", 1), ("😢", -1), ("😠", -1), ("I ❤️ this", 1), ("Happy birthday 🎉🎂", 1)],
)
def test_emoji_carry_sentiment(text: str, sign: int) -> None:
    assert classify(score(text).combined) == sign


def test_emoji_presentation_selector_does_not_hide_the_emoji() -> None:
    # "❤️" is U+2764 U+FE0F; without the selector VADER reads "red heart".
    assert score("I \u2764\ufe0f this").combined == score("I \u2764 this").combined > 0


def test_emoji_strengthens_text() -> None:
    assert score("I love it 😍").combined > score("I love it").combined > 0


def test_textblob_abstains_without_polar_words() -> None:
    # Pattern knows no emoji: the score must be VADER's own, not VADER diluted by a 0.0.
    result = score("😀")
    assert result.textblob == 0.0
    assert result.vader > 0
    assert result.combined == result.vader


def test_agreeing_scorers_pool_in_raw_valence_space() -> None:
    # "good": VADER valence 1.9, pattern polarity 0.7 (= 2.8 on VADER's -4..4 scale).
    result = score("good")
    x = VADER_WEIGHT * 1.9 + (1 - VADER_WEIGHT) * 4 * 0.7
    assert result.combined == pytest.approx(x / math.sqrt(x * x + VADER_ALPHA), abs=1e-4)
    assert result.vader < result.combined < result.textblob


def test_empty_text_scores_zero() -> None:
    result = score("")
    assert (result.vader, result.textblob, result.combined) == (0.0, 0.0, 0.0)


def test_deterministic() -> None:
    assert score(POSITIVE[0]) == score(POSITIVE[0])


def test_the_analyser_is_built_once() -> None:
    # Building a VADER analyser reads its lexicon (~10 ms); scoring a caption takes ~0.15 ms.
    assert sentiment._vader() is sentiment._vader()


def test_html_entities_are_read_as_the_characters_they_stand_for() -> None:
    # "&lt;3" is the heart emoticon "<3" once decoded; undecoded it is three neutral tokens.
    assert score("Saw the new menu &lt;3").combined == score("Saw the new menu <3").combined
    assert score("Saw the new menu &lt;3").combined > POSITIVE_ABOVE


@pytest.mark.parametrize(
    ("elongated", "plain"),
    [
        ("This is soooo goooood", "This is so good"),
        ("YESSSSSS", "YES"),
        ("That was baaaad", "That was bad"),
    ],
)
def test_elongated_words_read_as_the_lexicon_word(elongated: str, plain: str) -> None:
    assert score(elongated).combined == score(plain).combined
    assert score(elongated).combined != 0.0


def test_known_words_with_repeated_letters_are_left_alone() -> None:
    assert sentiment._normalise("Goooal! coffee ZZZ") == "Goooal! coffee ZZZ"
    assert sentiment._normalise("the sooo good cake") == "the so good cake"


def test_duplicated_lexicon_entries_take_the_mean_of_their_ratings() -> None:
    lexicon = sentiment._vader().lexicon
    # The file rates "d:" -2.9 (the horror face) and +1.2; "lol" +2.9 and +1.8.
    assert lexicon["d:"] == pytest.approx((-2.9 + 1.2) / 2)
    assert lexicon["lol"] == pytest.approx((2.9 + 1.8) / 2)
    assert score("I dropped my phone in the lake D: D:").combined < NEGATIVE_BELOW


def test_the_pattern_lexicon_is_loaded_at_import_not_by_racing_threads() -> None:
    # In a fresh interpreter: importing the module must leave pattern's lazy lexicon loaded.
    import subprocess
    import sys

    probe = (
        "import textblob.en as en; import briefcast.pipeline.check.sentiment; "
        "print(dict.__len__(en.sentiment))"
    )
    loaded = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert int(loaded.stdout) > 1000
