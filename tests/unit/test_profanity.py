"""The indexed profanity check answers exactly as better_profanity's own scan does."""

from __future__ import annotations

import random

import pytest
from better_profanity import Profanity

from briefcast.pipeline.check.profanity import contains_profanity

TEXTS = [
    "Our autumn sneaker drop is here: made from 80% recycled ocean plastic. #running",
    "We are hiring platform engineers! Remote-first, generous learning budget.",
    "This is shit",
    "this is sh1t and a$$",
    "what the f*ck",
    "Holy S H I T",
    "a piece of bull shit",  # two words that form one entry
    "Grab a pastry — croissants, brioche & more ☕",
    "assessment class pass grass",  # innocent words that contain an entry
    "",
    "!!!",
    "******* ********",  # long ambiguous words: the library's scan answers
]


@pytest.fixture(scope="module")
def library() -> Profanity:
    return Profanity()  # the untouched library, scanning its list


@pytest.mark.parametrize("text", TEXTS)
def test_known_texts_are_judged_as_the_library_judges_them(library: Profanity, text: str) -> None:
    assert contains_profanity(text) == library.contains_profanity(text)


def test_leetspeak_spellings_of_every_listed_word_agree_with_the_library(
    library: Profanity,
) -> None:
    rng = random.Random(7)
    entries = sorted(str(entry) for entry in library.CENSOR_WORDSET)
    mapping = library.CHARS_MAPPING
    texts = []
    for entry in rng.sample(entries, 150):
        spelled = "".join(rng.choice(mapping.get(c, (c,))) for c in entry)
        texts.append(f"Fresh news for you: {spelled} today")
        texts.append(f"Fresh news for you: {entry[:-1]}x today")  # one letter off
    flagged = [contains_profanity(t) for t in texts]
    assert flagged == [library.contains_profanity(t) for t in texts]
    assert sum(flagged) >= 100  # the spellings are found, not all waved through
