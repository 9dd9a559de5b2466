"""The OpenAI copy model: the official SDK, structured outputs parsed into pydantic models.

Production and the local sandbox differ only in `OPENAI_BASE_URL` and the key. Transport
retries (429 honouring retry-after, 5xx, timeouts) are the SDK's own (§1.7 of the reference).
"""

from __future__ import annotations

from functools import lru_cache

from openai import OpenAI
from pydantic import BaseModel, ConfigDict, Field, create_model

from briefcast.pipeline.copy.model import CopyBrief, CopyResult, PlatformCopy
from briefcast.settings import Settings

SYSTEM_PROMPT = (
    "You write social media posts for a brand. Follow the brand voice exactly, address the "
    "audience, use every key point, and never invent facts. Reply only with the JSON the "
    "schema asks for: one entry per platform."
)
PLATFORM_RULES = {
    "instagram": "Instagram: caption up to 2,200 characters, at most 30 hashtags, "
    "a visual, warm opening line.",
    "linkedin": "LinkedIn: commentary up to 3,000 characters, professional tone, "
    "at most 3 hashtags.",
}


class PlatformDraft(BaseModel):
    """What the model writes for one platform."""

    model_config = ConfigDict(extra="forbid")

    caption: str = Field(description="The post text, without the hashtags")
    hashtags: list[str] = Field(description="Hashtags, each starting with #")
    headline: str = Field(description="A short headline for the image, at most 12 words")
    alt_text: str = Field(description="Alt text describing the image for screen readers")
    call_to_action: str = Field(description="One short call to action")


class CopyRefusedError(Exception):
    """The model refused, or its reply did not parse."""


@lru_cache(maxsize=8)
def _reply_model(platforms: tuple[str, ...]) -> type[BaseModel]:
    """A schema with one required field per platform, so the reply covers each exactly once."""
    fields: dict[str, object] = {platform: (PlatformDraft, ...) for platform in platforms}
    return create_model(  # type: ignore[call-overload]
        "PostCopy", __config__=ConfigDict(extra="forbid"), **fields
    )


def build_messages(brief: CopyBrief) -> list[dict[str, str]]:
    points = "\n".join(f"- {point}" for point in brief.key_points)
    rules = "\n".join(PLATFORM_RULES[p] for p in brief.platforms if p in PLATFORM_RULES)
    user = (
        f"Topic: {brief.topic}\n"
        f"Key points:\n{points}\n"
        f"Brand voice: {brief.brand_voice}\n"
        f"Audience: {brief.audience or 'general'}\n"
        f"Platforms: {', '.join(brief.platforms)}\n"
        f"Platform rules:\n{rules}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class OpenAICopyModel:
    def __init__(self, client: OpenAI, model: str):
        self.client = client
        self.model = model
        self.name = f"openai:{model}"

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAICopyModel:
        assert settings.openai_api_key is not None
        client = OpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            timeout=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
        )
        return cls(client, settings.openai_model)

    def write(self, brief: CopyBrief) -> CopyResult:
        reply_model = _reply_model(tuple(brief.platforms))
        completion = self.client.chat.completions.parse(
            model=self.model,
            messages=build_messages(brief),  # type: ignore[arg-type]
            response_format=reply_model,
            max_completion_tokens=2000,
        )
        message = completion.choices[0].message
        if message.refusal or message.parsed is None:
            raise CopyRefusedError(message.refusal or "the reply did not match the schema")
        variants = [
            PlatformCopy(platform=platform, **getattr(message.parsed, platform).model_dump())
            for platform in brief.platforms
        ]
        usage = completion.usage
        tokens = (
            {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
            if usage
            else {}
        )
        return CopyResult(variants=variants, source=f"openai:{completion.model}", usage=tokens)
