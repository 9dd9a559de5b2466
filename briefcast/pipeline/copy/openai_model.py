"""The OpenAI copy model: the official SDK, structured outputs parsed into pydantic models.

Production and the local sandbox differ only in `OPENAI_BASE_URL` and the key. One request
writes every platform's variants; platform rules are then checked, not trusted, and a reply
that breaks them gets one repair request before the model is given up on.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import openai
from openai import OpenAI
from pydantic import BaseModel, ConfigDict, Field, create_model

from briefcast.pipeline.copy.cache import CopyCache, cache_key
from briefcast.pipeline.copy.model import (
    CopyBrief,
    CopyModelError,
    CopyResult,
    ModelCall,
    PlatformCopy,
)
from briefcast.pipeline.copy.prompts import build_messages, repair_message
from briefcast.pipeline.copy.resilience import call_with_retries, is_fatal
from briefcast.pipeline.copy.rules import violations


class PlatformDraft(BaseModel):
    """What the model writes for one variant on one platform."""

    model_config = ConfigDict(extra="forbid")

    caption: str = Field(description="The post text, without the hashtags")
    hashtags: list[str] = Field(description="Hashtags, each starting with #")
    headline: str = Field(description="A short headline for the image, at most 12 words")
    alt_text: str = Field(description="Alt text describing the image for screen readers")
    call_to_action: str = Field(description="One short call to action")


@lru_cache(maxsize=32)
def reply_schema(platforms: tuple[str, ...], variants: int) -> dict[str, Any]:
    """The reply's JSON schema, built once per shape (it is part of every cache key)."""
    return reply_model(platforms, variants).model_json_schema()


@lru_cache(maxsize=32)
def reply_model(platforms: tuple[str, ...], variants: int) -> type[BaseModel]:
    """One required list per platform, so the reply covers each platform exactly once."""
    drafts = (list[PlatformDraft], Field(min_length=variants, max_length=variants))
    fields: dict[str, Any] = {platform: drafts for platform in platforms}
    return create_model("PostCopy", __config__=ConfigDict(extra="forbid"), **fields)


class OpenAICopyModel:
    def __init__(
        self,
        client: OpenAI,
        model: str,
        *,
        cache: CopyCache | None = None,
        attempts: int = 3,
        hashtag_cap: int | None = None,
    ):
        self.client = client
        self.model = model
        self.cache = cache
        self.attempts = attempts
        self.hashtag_cap = hashtag_cap
        self.name = f"openai:{model}"

    def write(self, brief: CopyBrief) -> CopyResult:
        calls: list[ModelCall] = []
        messages = build_messages(brief)
        parsed = self._complete(messages, brief, calls)
        variants, problems = self._check(parsed, brief)
        if problems:
            fix = [
                *messages,
                {"role": "assistant", "content": parsed.model_dump_json()},
                repair_message(problems),
            ]
            variants, problems = self._check(self._complete(fix, brief, calls), brief)
            if problems:
                raise CopyModelError(
                    "the copy still breaks platform rules after a repair: " + "; ".join(problems),
                    calls=calls,
                )
        served = next((c.model for c in calls if not c.cached), calls[-1].model)
        return CopyResult(variants=variants, source=f"openai:{served}", calls=calls)

    def _check(self, parsed: BaseModel, brief: CopyBrief) -> tuple[list[PlatformCopy], list[str]]:
        variants, problems = [], []
        for platform in brief.platforms:
            drafts = getattr(parsed, platform)
            if len(drafts) != brief.variants:
                problems.append(f"{platform}: write exactly {brief.variants} variant(s)")
            for draft in drafts[: brief.variants]:
                copy = PlatformCopy(platform=platform, **draft.model_dump())
                problems += violations(copy, self.hashtag_cap if platform == "instagram" else None)
                variants.append(copy)
        return variants, problems

    def _complete(
        self, messages: list[dict[str, str]], brief: CopyBrief, calls: list[ModelCall]
    ) -> BaseModel:
        schema_model = reply_model(tuple(brief.platforms), brief.variants)
        key = cache_key(self.model, messages, reply_schema(tuple(brief.platforms), brief.variants))
        # A rewrite the gate asked for needs a new answer: the cached one may be the very
        # copy it refused (the same feedback twice makes the same prompt).
        cache = self.cache if not brief.feedback else None
        if cache is not None and (hit := cache.get(key)) is not None:
            calls.append(ModelCall(model=hit["model"], cached=True))
            return schema_model.model_validate(hit["parsed"])
        try:
            completion = call_with_retries(
                lambda: self.client.chat.completions.parse(
                    model=self.model,
                    # Plain role/content dicts; the SDK types each role's message apart.
                    messages=messages,  # type: ignore[arg-type]
                    response_format=schema_model,
                    max_completion_tokens=4000,
                ),
                self.attempts,
            )
        except openai.LengthFinishReasonError as exc:
            raise CopyModelError("the reply was cut off at the token limit", calls=calls) from exc
        except openai.ContentFilterFinishReasonError as exc:
            raise CopyModelError(
                "the reply was withheld by the content filter", calls=calls
            ) from exc
        except openai.APIError as exc:
            raise CopyModelError(_describe(exc), fatal=is_fatal(exc), calls=calls) from exc
        usage = completion.usage
        calls.append(
            ModelCall(
                model=completion.model,
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            )
        )
        message = completion.choices[0].message
        if message.refusal or message.parsed is None:
            raise CopyModelError(f"the model refused: {message.refusal}", calls=calls)
        parsed: BaseModel = message.parsed
        if cache is not None:
            cache.set(
                key, {"parsed": json.loads(parsed.model_dump_json()), "model": completion.model}
            )
        return parsed


def _describe(exc: openai.APIError) -> str:
    code = getattr(exc, "code", None) or type(exc).__name__
    body = exc.body if isinstance(exc.body, dict) else {}
    return f"{code}: {body.get('message') or exc.message}"
