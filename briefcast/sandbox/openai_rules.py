"""OpenAI sandbox rules: error bodies, schema-driven replies, moderation keywords, rate limits.

Section numbers (§) refer to docs/contracts/ (openai.md).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any


class OpenAIError(Exception):
    """An error answered with OpenAI's envelope (§1.6)."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        self.headers = headers or {}


def invalid_api_key(key: str) -> OpenAIError:
    # §1.6 401, verbatim shape; the key is masked the way OpenAI masks it.
    masked = f"{key[:3]}{'*' * 15}{key[-3:]}" if len(key) > 6 else "***"
    return OpenAIError(
        401,
        f"Incorrect API key provided: {masked}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    )


def missing_api_key() -> OpenAIError:
    return OpenAIError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        "invalid_request_error",
    )


def invalid_request(message: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, "invalid_request_error", "invalid_value", param)


# --- structured outputs (§1.2) ------------------------------------------------------------


def strict_schema_problem(schema: Any, path: str = "response_format.json_schema.schema") -> str:
    """Why a schema breaks strict mode (every property required, no extra properties), or ''."""
    if not isinstance(schema, dict):
        return ""
    if schema.get("type") == "object" or "properties" in schema:
        props = set(schema.get("properties", {}))
        if set(schema.get("required", [])) != props:
            return f"{path}: 'required' must list every property in strict mode"
        if schema.get("additionalProperties") is not False:
            return f"{path}: 'additionalProperties' must be false in strict mode"
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            if problem := strict_schema_problem(sub, f"{path}.{key}.{name}"):
                return problem
    for key in ("items",):
        if problem := strict_schema_problem(schema.get(key), f"{path}.{key}"):
            return problem
    for key in ("anyOf", "allOf"):
        for i, sub in enumerate(schema.get(key) or []):
            if problem := strict_schema_problem(sub, f"{path}.{key}[{i}]"):
                return problem
    return ""


_LABEL = re.compile(r"^\s*[A-Za-z][\w ]{0,30}:\s*")
_BULLET = re.compile(r"^\s*[-*•]\s+")
_TAG_LINE = re.compile(r"^\s*</?[A-Za-z_]+>\s*$")


class ReplyWriter:
    """Deterministic values for a JSON schema, made from the prompt's own words.

    The same (model, messages) always yields the same reply (§1.2 fake behaviour), and every
    reply validates against the schema it was given. The prompt's first line is taken as its
    subject and its bulleted lines as its points, which is how prompts are usually laid out.
    """

    def __init__(self, prompt: str, seed: str) -> None:
        # A line that is only a tag (`<brief>`) delimits data; it is not the subject.
        lines = [
            line.strip()
            for line in prompt.splitlines()
            if line.strip() and not _TAG_LINE.match(line)
        ]
        first = _LABEL.sub("", lines[0]) if lines else ""
        self.subject = first or "Hello from the sandbox"
        self.points = [_BULLET.sub("", line) for line in lines if _BULLET.match(line)]
        text = " ".join([self.subject, *self.points])
        self.words: list[str] = re.findall(r"[^\W\d_][^\W_]{3,}", text) or ["sandbox"]
        self.counter = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16)

    def _next(self, n: int) -> int:
        self.counter = (self.counter * 1103515245 + 12345) % (2**31)
        return self.counter % max(n, 1)

    def value(self, schema: dict[str, Any], root: dict[str, Any], name: str = "") -> Any:
        if "$ref" in schema:
            ref = schema["$ref"].rsplit("/", 1)[-1]
            defs = root.get("$defs") or root.get("definitions") or {}
            return self.value(defs[ref], root, name)
        if "enum" in schema:
            return schema["enum"][self._next(len(schema["enum"]))]
        if "const" in schema:
            return schema["const"]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
                return self.value(options[0], root, name)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {key: self.value(sub, root, key) for key, sub in props.items()}
        if kind == "array":
            low = schema.get("minItems", 1)
            high = max(low, min(schema.get("maxItems", 3), 5))
            count = low + self._next(high - low + 1)
            return [self.value(schema.get("items", {}), root, name) for _ in range(count)]
        if kind == "integer":
            return int(schema.get("minimum", 0)) + self._next(10)
        if kind == "number":
            return float(schema.get("minimum", 0)) + self._next(100) / 100
        if kind == "boolean":
            return bool(self._next(2))
        if kind == "null":
            return None
        return self._string(schema, name.lower())

    def _string(self, schema: dict[str, Any], name: str) -> str:
        if "hashtag" in name or name == "tag":
            word = self.words[self._next(len(self.words))]
            text = "#" + word[0].upper() + word[1:].lower()
        elif "alt" in name:
            text = f"An image with the words: {self.subject}"
        elif any(key in name for key in ("caption", "commentary", "body", "text", "post")):
            points = " ".join(p.rstrip(".") + "." for p in self.points)
            text = f"{self.subject.rstrip('.')}. {points}".strip()
        elif "headline" in name or "title" in name:
            text = " ".join(self.subject.split()[:12])
        elif "action" in name:
            text = "Find out more at the link."
        else:
            text = self.subject
        max_length = schema.get("maxLength")
        return text[:max_length] if isinstance(max_length, int) else text


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))  # §1.2: "roughly chars/4"


# --- moderation (§1.5) --------------------------------------------------------------------

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# The fake flags on configurable keywords (§1.5); these defaults are deliberately blunt.
DEFAULT_FLAG_WORDS: dict[str, tuple[str, ...]] = {
    "violence": ("kill", "murder", "shoot", "stab"),
    "hate": ("subhuman", "vermin"),
    "harassment": ("idiot", "loser", "stupid"),
    "self-harm": ("suicide",),
    "illicit": ("cocaine", "counterfeit"),
}


def moderate(text: str, flag_words: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    lowered = text.lower()
    hits = {cat for cat, words in flag_words.items() if any(w in lowered for w in words)}
    return {
        "flagged": bool(hits),
        "categories": {cat: cat in hits for cat in CATEGORIES},
        "category_scores": {cat: 0.91 if cat in hits else 0.0001 for cat in CATEGORIES},
        "category_applied_input_types": {cat: ["text"] for cat in CATEGORIES},
    }


# --- rate limits (§1.8) -------------------------------------------------------------------


@dataclass
class RateLimits:
    """Per-key requests and tokens per minute, reported on every response (§1.8)."""

    requests_per_min: int = 5000
    tokens_per_min: int = 160000
    _used: dict[str, tuple[float, int, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, key: str, tokens: int, now: float) -> dict[str, str]:
        with self._lock:
            window, requests, used = self._used.get(key, (now, 0, 0))
            if now - window >= 60:
                window, requests, used = now, 0, 0
            requests, used = requests + 1, used + tokens
            self._used[key] = (window, requests, used)
        reset_ms = max(0, int((window + 60 - now) * 1000))
        return {
            "x-ratelimit-limit-requests": str(self.requests_per_min),
            "x-ratelimit-limit-tokens": str(self.tokens_per_min),
            "x-ratelimit-remaining-requests": str(max(0, self.requests_per_min - requests)),
            "x-ratelimit-remaining-tokens": str(max(0, self.tokens_per_min - used)),
            "x-ratelimit-reset-requests": f"{reset_ms}ms",
            "x-ratelimit-reset-tokens": f"{reset_ms}ms",
        }

    def reset(self) -> None:
        with self._lock:
            self._used.clear()
