"""The copy-model interface and the copy it returns, one variant per platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, Field

# Platform caption limits (Instagram §2.9, LinkedIn §3.4 of the external API reference).
CAPTION_LIMITS = {"instagram": 2200, "linkedin": 3000}


class CopyBrief(BaseModel):
    """What a copy model needs to know: primitives re-read from the brief row."""

    topic: str
    key_points: list[str]
    brand_voice: str
    audience: str
    platforms: list[str]


class PlatformCopy(BaseModel):
    platform: str
    caption: str
    hashtags: list[str] = Field(default_factory=list)
    headline: str
    alt_text: str
    call_to_action: str = ""


@dataclass(frozen=True)
class CopyResult:
    variants: list[PlatformCopy]
    source: str  # who wrote it, shown to users: "offline-copywriter" or "openai:<model>"
    usage: dict[str, int] = field(default_factory=dict)  # tokens, when a model reports them


class CopyModel(Protocol):
    name: str

    def write(self, brief: CopyBrief) -> CopyResult: ...
