"""The copy-model interface, what it is asked (a brief and its brand voice), what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, Field, field_validator

from briefcast.markup import strip_markup


class VoiceRules(BaseModel):
    """The brand voice as the copy model sees it."""

    tone: str
    audience: str = ""
    use_words: list[str] = Field(default_factory=list)
    avoid_words: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    emoji_policy: str = "sparing"
    hashtag_sets: list[str] = Field(default_factory=list)
    language: str = "en"
    example_posts: list[str] = Field(default_factory=list)
    version: int = 0  # bumped on every edit; cached copy keys on it


class CopyBrief(BaseModel):
    """What a copy model needs to know: primitives re-read from the brief and voice rows."""

    topic: str
    key_points: list[str]
    brand_voice: str
    audience: str
    platforms: list[str]
    variants: int = 1
    voice: VoiceRules | None = None
    # The gate's reasons from the last attempt, for the model to put right.
    feedback: list[str] = Field(default_factory=list)
    # A campaign occurrence's latest posts, newest first, so it does not repeat itself.
    recent_posts: list[str] = Field(default_factory=list)


class PlatformCopy(BaseModel):
    platform: str
    caption: str
    hashtags: list[str] = Field(default_factory=list)
    headline: str
    alt_text: str
    call_to_action: str = ""

    # Whoever wrote it (a model that was talked into it included), a caption is plain text.
    @field_validator("caption", "headline", "alt_text", "call_to_action")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        return strip_markup(value)

    @field_validator("hashtags")
    @classmethod
    def _plain_tags(cls, value: list[str]) -> list[str]:
        return [tag for tag in (strip_markup(t) for t in value) if tag]


@dataclass(frozen=True)
class ModelCall:
    """One request a model answered (or the cache did): for usage and cost records."""

    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False


@dataclass(frozen=True)
class CopyResult:
    # Per platform, `brief.variants` variants in order; the first of each is published.
    variants: list[PlatformCopy]
    source: str  # who wrote it, shown to users: "offline-copywriter" or "openai:<model>"
    calls: list[ModelCall] = field(default_factory=list)
    fallback_reason: str | None = None  # why an earlier model in the chain was passed over

    @property
    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
            "completion_tokens": sum(c.completion_tokens for c in self.calls),
            "cached_calls": sum(c.cached for c in self.calls),
        }

    def for_platform(self, platform: str) -> list[PlatformCopy]:
        return [v for v in self.variants if v.platform == platform]


class CopyModel(Protocol):
    name: str

    def write(self, brief: CopyBrief) -> CopyResult: ...


class CopyModelError(Exception):
    """The model could not produce usable copy; `fatal` means do not try it again soon.

    `calls` are the requests it made before giving up: they still cost tokens.
    """

    def __init__(self, message: str, *, fatal: bool = False, calls: list[ModelCall] | None = None):
        super().__init__(message)
        self.fatal = fatal
        self.calls = list(calls or [])
