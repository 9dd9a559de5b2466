"""Brand voices: how an organization sounds, what it never says, and the gate's threshold."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from briefcast.api.schemas.numbers import JsonFloat
from briefcast.api.schemas.patch import PatchModel
from briefcast.api.schemas.text import PLAIN, PLAIN_OR_BLANK, Len

# What ends a hashtag: ASCII other than letters, digits and "_"; Latin-1's controls, spaces,
# symbols and signs (multiplication, superscripts …); Unicode's punctuation, symbol and dingbat
# blocks; CJK and fullwidth punctuation; spaces and joiners; surrogates, private use and
# specials. Every other character is part of one, so letters, digits and combining marks of any
# script are (#café, #東京, #नमस्ते). Spelled as ranges, not \w: a JSON Schema pattern is read as
# ECMA-262, where \w is ASCII alone (schemathesis reads it so), while Python's \w is Unicode and
# leaves out combining marks; ranges read the same in both. (Beyond the Basic Multilingual
# Plane an ECMA reader without the u flag sees two surrogates and refuses: stricter, not looser.)
_NOT_IN_HASHTAG = (
    r"\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\xbf\xd7\xf7\u1680\u180e\u2000-\u2bff"
    r"\u3000-\u3004\u3008-\u3020\u3030\u3036-\u303f\ud800-\uf8ff\ufe10-\ufe1f\ufe30-\ufe6f"
    r"\ufeff\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\ufff0-\uffff"
)
_HASHTAG = re.compile(rf"^#?[^_{_NOT_IN_HASHTAG}][^{_NOT_IN_HASHTAG}]{{0,49}}$")


def _hashtag(value: str) -> str:
    if not _HASHTAG.match(value):
        raise ValueError(
            "a hashtag is letters, digits and marks of any script and underscores (not first), "
            "up to 50"
        )
    return value if value.startswith("#") else f"#{value}"


def _unique_casefold(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


Word = Annotated[str, Len(1, 50), PLAIN]
# The item limit sits inside each alias, before the de-duplication: set on the field, pydantic
# applied it to the de-duplicated list when the field was optional (a PATCH of 101 copies of
# one word was accepted against the schema's maxItems 100).
UseWords = Annotated[list[Word], Field(max_length=50), AfterValidator(_unique_casefold)]
AvoidWords = Annotated[list[Word], Field(max_length=100), AfterValidator(_unique_casefold)]
Hashtag = Annotated[
    str, Field(json_schema_extra={"pattern": _HASHTAG.pattern}), AfterValidator(_hashtag)
]
EmojiPolicy = Literal["none", "sparing", "free"]
Color = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
Sentiment = Annotated[JsonFloat, Field(ge=-1, le=1)]
Font = Literal["dejavu-sans", "dejavu-serif"]  # the families shipped in briefcast/assets/fonts
Grade = Literal["warm", "cool", "mono"]  # colour-grading looks for photos


class BrandVoiceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tone: Annotated[str, Len(1, 500), PLAIN]
    audience: Annotated[str, Len(0, 500), PLAIN_OR_BLANK] = ""
    use_words: UseWords = Field(default_factory=list)
    avoid_words: AvoidWords = Field(default_factory=list)
    competitors: list[Annotated[str, Len(1, 100), PLAIN]] = Field(
        default_factory=list, max_length=50
    )
    emoji_policy: EmojiPolicy = "sparing"
    hashtag_sets: list[Hashtag] = Field(default_factory=list, max_length=30)
    language: Language = "en"
    example_posts: list[Annotated[str, Len(1, 3000), PLAIN]] = Field(
        default_factory=list, max_length=10
    )
    sentiment_min: Sentiment = Field(
        default=-0.05, description="Copy scoring below this (-1..1) is regenerated."
    )
    primary_color: Color = "#1F4E79"
    secondary_color: Color | None = None
    font: Font = "dejavu-sans"
    grade: Grade | None = None


class BrandVoiceIn(BrandVoiceFields):
    name: Annotated[str, Len(1, 100), PLAIN]


class BrandVoicePatch(PatchModel):
    """Every field optional: only what is sent changes."""

    name: Annotated[str, Len(1, 100), PLAIN] | None = None
    tone: Annotated[str, Len(1, 500), PLAIN] | None = None
    audience: Annotated[str, Len(0, 500), PLAIN_OR_BLANK] | None = None
    use_words: UseWords | None = None
    avoid_words: AvoidWords | None = None
    competitors: list[Annotated[str, Len(1, 100), PLAIN]] | None = Field(
        default=None, max_length=50
    )
    emoji_policy: EmojiPolicy | None = None
    hashtag_sets: list[Hashtag] | None = Field(default=None, max_length=30)
    language: Language | None = None
    example_posts: list[Annotated[str, Len(1, 3000), PLAIN]] | None = Field(
        default=None, max_length=10
    )
    sentiment_min: Sentiment | None = None
    primary_color: Color | None = None
    secondary_color: Color | None = None
    font: Font | None = None
    grade: Grade | None = None


class BrandVoiceOut(BrandVoiceFields):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: uuid.UUID
    logo_key: str | None
    name: str
    version: int
    created_at: datetime
    updated_at: datetime


class BrandVoiceList(BaseModel):
    items: list[BrandVoiceOut]
