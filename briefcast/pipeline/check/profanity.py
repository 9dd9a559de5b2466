"""Profanity, as better_profanity finds it (its word list, its leetspeak variants, its
tokenising), without its cost: the library tests each word of a text against every entry of
its list in turn (about 900 entries, each a scan over its variants), which made it the largest
single CPU cost of the whole pipeline. Here the same list answers `in` with set lookups.

A text's word matches an entry when every character is one of that entry character's
variants ("sh1t" for "shit": "1" is a variant of "i"). Reading it backwards, each character
of the word names the few letters it could stand for, and the word's spellings are the
product of those: normally one or two, looked up in a set. The library's own scan is kept for
the rare word whose spellings would be too many to list (a row of "*").
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from better_profanity import Profanity

# Past this many spellings of one word, ask the library's own scan instead.
MAX_SPELLINGS = 512


class VariantIndex:
    """Stands in for `Profanity.CENSOR_WORDSET`: the library only asks `word in wordset`."""

    def __init__(
        self, words: Iterable[str], char_map: Mapping[str, Sequence[str]], scan: Sequence[object]
    ) -> None:
        if any(len(variant) != 1 for variants in char_map.values() for variant in variants):
            raise ValueError("only one-character variants can be read backwards")
        self._words = frozenset(words)
        self._scan = scan
        self._letters_for: dict[str, frozenset[str]] = {}
        for letter, variants in char_map.items():
            for variant in variants:
                self._letters_for[variant] = self._letters_for.get(variant, frozenset()) | {letter}
        self._mapped = frozenset(char_map)
        # Captions repeat their words (variants, platforms, hashtags): each is spelled out once.
        self._known = lru_cache(maxsize=65536)(self._lookup)

    def _letters(self, char: str) -> frozenset[str]:
        found = self._letters_for.get(char, frozenset())
        # A letter with no variants of its own stands only for itself.
        return found if char in self._mapped else found | {char}

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._known(word)

    def _lookup(self, word: str) -> bool:
        options = [self._letters(char) for char in word]
        if math.prod(len(o) for o in options) > MAX_SPELLINGS:
            return word in self._scan  # the library's scan, for the rare long ambiguous word
        return any("".join(spelling) in self._words for spelling in itertools.product(*options))

    def __len__(self) -> int:
        return len(self._words)


@lru_cache(maxsize=1)
def _filter() -> Profanity:
    profanity = Profanity()  # loads the library's default word list
    scan = list(profanity.CENSOR_WORDSET)
    profanity.CENSOR_WORDSET = VariantIndex(
        (str(entry) for entry in scan), profanity.CHARS_MAPPING, scan
    )
    return profanity


def contains_profanity(text: str) -> bool:
    return bool(_filter().contains_profanity(text))
