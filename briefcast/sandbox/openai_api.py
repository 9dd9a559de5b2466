"""OpenAI sandbox: chat completions (structured outputs), moderations, image generation.

Serves `/v1/...` so the official SDK works with `base_url=http://host:port/v1` (§1.1).
Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from briefcast.sandbox import openai_rules as rules
from briefcast.sandbox.common import Clock, IdGen, SandboxCore
from briefcast.sandbox.control import SandboxApp, control_router, current_record

SANDBOX_API_KEY = "sk-sandbox-briefcast"
MODEL_SNAPSHOTS = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06"}
GPT_IMAGE_MODELS = {"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2"}
IMAGE_SIZES = {"256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024",
               "1024x1792", "auto"}  # fmt: skip
MODERATION_MODEL = "omni-moderation-2024-09-26"


def _headers(request_id: str, started: float, extra: Mapping[str, str]) -> dict[str, str]:
    # §1.1 and §1.8: the headers the SDK and operators read.
    return {
        "x-request-id": request_id,
        "openai-version": "2020-10-01",
        "openai-organization": "org-sandbox",
        "openai-processing-ms": str(int((time.monotonic() - started) * 1000)),
        **extra,
    }


def create_app(
    *,
    api_key: str = SANDBOX_API_KEY,
    seed: int = 0,
    clock: Clock | None = None,
    flag_words: dict[str, tuple[str, ...]] | None = None,
) -> SandboxApp:
    core = SandboxCore(clock=clock or Clock(), ids=IdGen(seed))
    limits = rules.RateLimits()
    files: dict[str, bytes] = {}
    words = flag_words or rules.DEFAULT_FLAG_WORDS
    app = SandboxApp(core, title="OpenAI sandbox")

    def reset() -> None:
        limits.reset()
        files.clear()

    app.include_router(control_router(core, lambda: [], reset))

    @app.exception_handler(rules.OpenAIError)
    async def openai_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, rules.OpenAIError)
        headers = {"x-request-id": f"req_{core.ids.token(24)}", **exc.headers}
        return JSONResponse(exc.body, status_code=exc.status, headers=headers)

    def authorize(request: Request) -> str:
        """§1.1 Bearer key; §1.6 the 401 bodies. Returns the key, for rate limits."""
        current_record(request.scope)["retry_count"] = request.headers.get(
            "x-stainless-retry-count"
        )
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise rules.missing_api_key()
        if key != api_key:
            raise rules.invalid_api_key(key)
        return key

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise rules.invalid_request(
                "We could not parse the JSON body of your request."
            ) from exc
        if not isinstance(body, dict):
            raise rules.invalid_request("The request body must be a JSON object.")
        return body

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> JSONResponse:
        started = time.monotonic()
        key = authorize(request)
        body = await json_body(request)
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(model, str) or not model:
            raise rules.invalid_request("you must provide a model parameter", "model")
        if not isinstance(messages, list) or not messages:
            raise rules.invalid_request("'messages' must be a non-empty array", "messages")
        prompt = "\n".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
        user = "\n".join(
            str(m.get("content") or "")
            for m in messages
            if isinstance(m, dict) and m.get("role") == "user"
        )
        seed = json.dumps([model, messages], sort_keys=True)
        writer = rules.ReplyWriter(user or prompt, seed)
        content = _reply(body.get("response_format"), writer)
        finish = "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and rules.estimate_tokens(content) > limit:
            content, finish = content[: limit * 4], "length"  # §1.2 finish_reason "length"
        prompt_tokens = rules.estimate_tokens(prompt)
        completion_tokens = rules.estimate_tokens(content)
        digest = hashlib.sha256(seed.encode()).hexdigest()
        payload = {
            "id": f"chatcmpl-{digest[:24]}",
            "object": "chat.completion",
            "created": int(core.clock.now()),
            "model": MODEL_SNAPSHOTS.get(model, model),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": f"fp_{digest[24:34]}",
        }
        spent = limits.spend(key, prompt_tokens + completion_tokens, core.clock.now())
        request_id = f"req_{digest[:32]}"
        current_record(request.scope)["completion"] = {"id": payload["id"], "content": content}
        return JSONResponse(payload, headers=_headers(request_id, started, spent))

    @app.post("/v1/moderations")
    async def moderations(request: Request) -> JSONResponse:
        started = time.monotonic()
        key = authorize(request)
        body = await json_body(request)
        inputs = body.get("input")
        if isinstance(inputs, str):
            texts = [inputs]
        elif isinstance(inputs, list):
            texts = [i if isinstance(i, str) else str(i.get("text", "")) for i in inputs]
        else:
            raise rules.invalid_request("'input' must be a string or an array", "input")
        payload = {
            "id": f"modr-{core.ids.token(20)}",
            "model": MODERATION_MODEL,
            "results": [rules.moderate(text, words) for text in texts],
        }
        tokens = sum(rules.estimate_tokens(t) for t in texts)
        spent = limits.spend(key, tokens, core.clock.now())
        return JSONResponse(payload, headers=_headers(f"req_{core.ids.token(24)}", started, spent))

    @app.post("/v1/images/generations")
    async def images(request: Request) -> JSONResponse:
        started = time.monotonic()
        key = authorize(request)
        body = await json_body(request)
        prompt, model = body.get("prompt"), body.get("model", "dall-e-2")
        if not isinstance(prompt, str) or not prompt:
            raise rules.invalid_request("'prompt' is required", "prompt")
        size = body.get("size", "1024x1024")
        if size not in IMAGE_SIZES:
            raise rules.invalid_request(f"Invalid size '{size}'.", "size")
        if model in GPT_IMAGE_MODELS and "response_format" in body:
            # §1.4: GPT image models always answer b64_json; response_format is refused [I].
            raise rules.invalid_request(
                f"Unknown parameter: 'response_format' is not supported for {model}.",
                "response_format",
            )
        fmt = body.get("output_format", "png") if model in GPT_IMAGE_MODELS else "png"
        data = _image(prompt, "1024x1024" if size == "auto" else size, fmt)
        if model in GPT_IMAGE_MODELS or body.get("response_format") == "b64_json":
            item: dict[str, Any] = {"b64_json": base64.b64encode(data).decode()}
        else:
            file_id = f"img-{core.ids.token(16)}"
            files[file_id] = data
            item = {"url": f"{str(request.base_url).rstrip('/')}/v1/_files/{file_id}.png"}
        payload = {
            "created": int(core.clock.now()),
            "data": [item],
            "background": "opaque",
            "output_format": fmt,
            "quality": body.get("quality", "medium"),
            "size": size,
            "usage": {"input_tokens": rules.estimate_tokens(prompt), "output_tokens": 4160,
                      "total_tokens": rules.estimate_tokens(prompt) + 4160,
                      "input_tokens_details": {"image_tokens": 0,
                                               "text_tokens": rules.estimate_tokens(prompt)}},
        }  # fmt: skip
        spent = limits.spend(key, 4160, core.clock.now())
        return JSONResponse(payload, headers=_headers(f"req_{core.ids.token(24)}", started, spent))

    @app.get("/v1/_files/{name}")
    def image_file(name: str) -> Response:
        data = files.get(name.removesuffix(".png"))
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="image/png")

    return app


def _reply(response_format: Any, writer: rules.ReplyWriter) -> str:
    """The assistant's content: JSON valid against a json_schema format, else plain text."""
    if not isinstance(response_format, dict) or response_format.get("type") == "text":
        return writer.subject
    if response_format.get("type") == "json_object":
        return json.dumps({"text": writer.subject})
    if response_format.get("type") != "json_schema":
        raise rules.invalid_request("Invalid response_format type.", "response_format.type")
    spec = response_format.get("json_schema") or {}
    schema = spec.get("schema")
    name = spec.get("name", "")
    if not isinstance(schema, dict) or not isinstance(name, str) or not name:
        raise rules.invalid_request(
            "response_format.json_schema needs a 'name' and a 'schema'", "response_format"
        )
    if len(name) > 64 or not all(c.isalnum() or c in "_-" for c in name):
        raise rules.invalid_request(
            "Invalid 'response_format.json_schema.name'.", "response_format"
        )
    if spec.get("strict") and (problem := rules.strict_schema_problem(schema)):
        raise rules.invalid_request(f"Invalid schema for response_format '{name}': {problem}",
                                    "response_format")  # fmt: skip
    return json.dumps(writer.value(schema, schema), ensure_ascii=False)


def _image(prompt: str, size: str, fmt: str) -> bytes:
    """A deterministic two-colour gradient, so the same prompt gives the same bytes."""
    width, height = (int(v) for v in size.split("x"))
    digest = hashlib.sha256(prompt.encode()).digest()
    top, bottom = tuple(digest[:3]), tuple(digest[3:6])
    ramp = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", (width, height), bottom),
                            Image.new("RGB", (width, height), top), ramp)  # fmt: skip
    out = io.BytesIO()
    image.save(out, format={"jpeg": "JPEG", "webp": "WEBP"}.get(fmt, "PNG"))
    return out.getvalue()
