"""A brand voice's hashtags: letters, digits and marks of any script, and one published pattern
that a JSON Schema validator reads as the server does."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from briefcast.api.schemas.voices import Hashtag

HASHTAG = TypeAdapter(Hashtag)


def published_pattern() -> str:
    pattern: str = HASHTAG.json_schema()["pattern"]
    return pattern


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("RunGreen", "#RunGreen"),
        ("#AutumnDrop", "#AutumnDrop"),
        ("#café", "#café"),
        ("#東京", "#東京"),
        ("#नमस्ते", "#नमस्ते"),  # combining marks, which Python's \w leaves out
        ("#人々", "#人々"),
        ("#\u041c\u043e\u0441\u043a\u0432\u04302024",) * 2,  # Moscow, in Cyrillic
        ("#\uff26\uff35\uff2c\uff2c",) * 2,  # "FULL" in fullwidth letters
        ("snake_case", "#snake_case"),
        ("#" + "a" * 50, "#" + "a" * 50),
    ],
)
def test_letters_digits_and_marks_of_any_script_make_a_hashtag(given: str, stored: str) -> None:
    assert HASHTAG.validate_python(given) == stored


@pytest.mark.parametrize(
    "given",
    ["", "#", "##tag", "not a tag", "#a-b", "#a.b", "#_lead", "#x!", "#x³", "#a\u00a0b",
     "#a\u200bb", "#a。b", "#a\u3000b", "#☀", "#a\ud800", "#" + "a" * 51],
)  # fmt: skip
def test_spaces_punctuation_symbols_and_over_50_are_refused(given: str) -> None:
    with pytest.raises(ValidationError):
        HASHTAG.validate_python(given)


def test_the_published_pattern_reads_the_same_where_shorthands_are_ascii() -> None:
    # A JSON Schema pattern is ECMA-262, whose \w and \d are ASCII: read that way (as schemathesis
    # reads it), the published pattern must refuse and accept exactly what the server does.
    as_ecma = re.compile(published_pattern(), re.ASCII)
    for code in range(0x10000):
        value = f"#a{chr(code)}"
        server = True
        try:
            HASHTAG.validate_python(value)
        except ValidationError:
            server = False
        assert (as_ecma.match(value) is not None) == server, hex(code)
