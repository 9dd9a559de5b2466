"""The official openai SDK against the OpenAI sandbox: structured outputs, errors, retries.

Each test asserts the status, body fields and headers docs/contracts/openai.md gives.
Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from PIL import Image
from pydantic import BaseModel

from briefcast.pipeline.copy.model import CopyBrief, CopyModelError
from briefcast.pipeline.copy.openai_model import OpenAICopyModel
from briefcast.sandbox import openai_api
from briefcast.sandbox.server import RunningServer, serve_in_thread

KEY = openai_api.SANDBOX_API_KEY
BRIEF = CopyBrief(
    topic="Our autumn sneaker drop is here",
    key_points=["Made from recycled ocean plastic", "Free returns for 60 days"],
    brand_voice="playful",
    audience="runners",
    platforms=["instagram", "linkedin"],
)


class Caption(BaseModel):
    caption: str
    hashtags: list[str]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningServer]:
    server = serve_in_thread(openai_api.create_app())
    yield server
    server.stop()


@pytest.fixture
def base(sandbox: RunningServer) -> str:
    httpx.post(f"{sandbox.base_url}/_sandbox/reset").raise_for_status()
    return sandbox.base_url


def client(base: str, key: str = KEY, **kw: Any) -> OpenAI:
    return OpenAI(api_key=key, base_url=f"{base}/v1", **kw)


def records(base: str, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = httpx.get(f"{base}/_sandbox/records").json()
    return [r for r in rows if r["path"] == path]


def fault(base: str, **spec: Any) -> None:
    httpx.post(f"{base}/_sandbox/faults", json=spec).raise_for_status()


def test_sdk_parses_a_json_schema_reply_into_a_pydantic_object(base: str) -> None:
    completion = client(base).chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Autumn launch\n- recycled plastic\n- free returns"}],
        response_format=Caption,
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Caption)
    assert parsed.caption.startswith("Autumn launch.")
    assert parsed.hashtags and all(tag.startswith("#") for tag in parsed.hashtags)
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini-2024-07-18"
    usage = completion.usage
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_the_reply_is_deterministic_for_the_same_prompt(base: str) -> None:
    def ask() -> str:
        return OpenAICopyModel(client(base), "gpt-4o-mini").write(BRIEF).variants[1].caption

    assert ask() == ask()


def test_copy_model_returns_one_variant_per_platform(base: str) -> None:
    result = OpenAICopyModel(client(base), "gpt-4o-mini").write(BRIEF)
    assert [v.platform for v in result.variants] == ["instagram", "linkedin"]
    assert all(BRIEF.topic in v.caption for v in result.variants)
    assert result.source == "openai:gpt-4o-mini-2024-07-18"
    assert result.usage["prompt_tokens"] > 0 and result.usage["completion_tokens"] > 0


def test_response_headers_carry_request_id_and_rate_limits(base: str) -> None:
    raw = client(base).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}]
    )
    headers = raw.headers
    assert re.fullmatch(r"req_[0-9a-f]{32}", headers["x-request-id"])
    assert headers["openai-version"] == "2020-10-01"
    assert headers["x-ratelimit-limit-requests"] == "5000"
    assert int(headers["x-ratelimit-remaining-requests"]) == 4999
    assert re.fullmatch(r"\d+ms", headers["x-ratelimit-reset-tokens"])
    second = client(base).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello again"}]
    )
    assert int(second.headers["x-ratelimit-remaining-requests"]) == 4998


RATE_LIMITED = {
    "error": {
        "message": "Rate limit reached for gpt-4o-mini on tokens per min (TPM).",
        "type": "tokens",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}
SERVER_ERROR = {
    "error": {"message": "The server had an error.", "type": "server_error", "param": None,
              "code": None}
}  # fmt: skip


def test_the_sdk_itself_retries_a_scripted_429_with_retry_after(base: str) -> None:
    fault(base, method="POST", path="/v1/chat/completions$", status=429,
          headers={"retry-after": "0"}, body=RATE_LIMITED)  # fmt: skip
    completion = client(base, max_retries=2).chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Autumn launch\n- recycled plastic"}],
        response_format=Caption,
    )
    assert isinstance(completion.choices[0].message.parsed, Caption)
    calls = records(base, "/v1/chat/completions")
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[1]["retry_count"] == "1"  # the SDK's x-stainless-retry-count: one retry


def test_429_then_500_then_success_costs_the_copy_model_two_retries(base: str) -> None:
    fault(base, method="POST", path="/v1/chat/completions$", status=429,
          headers={"retry-after-ms": "10"}, body=RATE_LIMITED)  # fmt: skip
    fault(base, method="POST", path="/v1/chat/completions$", status=500, body=SERVER_ERROR)
    model = OpenAICopyModel(client(base, max_retries=0), "gpt-4o-mini", attempts=3)
    result = model.write(BRIEF)
    assert len(result.variants) == 2
    assert [c["status"] for c in records(base, "/v1/chat/completions")] == [429, 500, 200]
    assert [c.cached for c in result.calls] == [False]  # one answered call is billed


def test_insufficient_quota_is_fatal_and_not_retried(base: str) -> None:
    fault(
        base,
        method="POST",
        path="/v1/chat/completions$",
        status=429,
        headers={"x-should-retry": "false"},
        body={
            "error": {
                "message": "You exceeded your current quota, please check your plan.",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        },
    )
    with pytest.raises(CopyModelError) as caught:
        OpenAICopyModel(client(base, max_retries=0), "gpt-4o-mini", attempts=3).write(BRIEF)
    assert caught.value.fatal
    assert str(caught.value).startswith("insufficient_quota: You exceeded your current quota")
    assert len(records(base, "/v1/chat/completions")) == 1


def test_retries_run_out_into_a_copy_model_error(base: str) -> None:
    fault(base, method="POST", path="/v1/chat/completions$", status=500, body=SERVER_ERROR,
          count=3)  # fmt: skip
    with pytest.raises(CopyModelError) as caught:
        OpenAICopyModel(client(base, max_retries=0), "gpt-4o-mini", attempts=3).write(BRIEF)
    assert not caught.value.fatal
    assert len(records(base, "/v1/chat/completions")) == 3


def test_wrong_key_is_401_with_the_error_envelope(base: str) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        client(base, key="sk-wrong-key-123456").chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    error = caught.value
    assert error.status_code == 401
    assert error.code == "invalid_api_key" and error.type == "invalid_request_error"
    body = error.body
    assert isinstance(body, dict)
    assert body["message"].startswith("Incorrect API key provided: sk-***************456.")
    assert error.request_id is not None and error.request_id.startswith("req_")


def test_missing_key_is_401(base: str) -> None:
    response = httpx.post(f"{base}/v1/chat/completions", json={"model": "gpt-4o-mini"})
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_a_non_strict_schema_in_strict_mode_is_400(base: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(base).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "caption",
                    "strict": True,
                    "schema": {"type": "object", "properties": {"caption": {"type": "string"}}},
                },
            },
        )
    assert caught.value.param == "response_format"
    assert caught.value.type == "invalid_request_error"


def test_a_length_cut_reply_raises_the_sdks_length_error(base: str) -> None:
    with pytest.raises(openai.LengthFinishReasonError):
        client(base).chat.completions.parse(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "A long topic\n- " + "word " * 200}],
            response_format=Caption,
            max_completion_tokens=5,
        )


def test_moderation_flags_on_keywords_with_every_category(base: str) -> None:
    result = client(base).moderations.create(
        model="omni-moderation-latest", input=["We will kill the competition", "Lovely day"]
    )
    flagged, clean = result.results
    assert result.id.startswith("modr-") and result.model == "omni-moderation-2024-09-26"
    assert flagged.flagged and flagged.categories.violence
    assert flagged.category_scores.violence > 0.5
    assert not clean.flagged and not clean.categories.violence
    raw = httpx.post(f"{base}/v1/moderations", json={"input": "hi"},
                     headers={"Authorization": f"Bearer {KEY}"}).json()  # fmt: skip
    assert set(raw["results"][0]["categories"]) >= {"harassment/threatening", "self-harm/intent"}


def test_gpt_image_models_answer_b64_json(base: str) -> None:
    result = client(base).images.generate(
        model="gpt-image-1", prompt="autumn sneakers", size="1024x1536", output_format="jpeg"
    )
    assert result.data and result.data[0].b64_json and result.data[0].url is None
    image = Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json)))
    assert (image.format, image.size) == ("JPEG", (1024, 1536))
    assert result.usage is not None and result.usage.total_tokens > 0


def test_response_format_with_a_gpt_image_model_is_400(base: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(base).images.generate(
            model="gpt-image-1",
            prompt="x",
            response_format="url",
        )
    assert caught.value.param == "response_format"


def test_dall_e_url_points_at_a_served_png(base: str) -> None:
    result = client(base).images.generate(model="dall-e-2", prompt="x", size="256x256")
    assert result.data and result.data[0].url
    png = httpx.get(result.data[0].url)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (256, 256)
