"""Keeping secrets out of text that leaves the process: log lines, stored reasons, API answers.

Two tools, used by the logging setup (`briefcast.logs`) for every log line and by the places
that store an error's text where people read it (`status_reason`, attempt errors):

- `redact(value, key)`: the value of a key named like a secret (`access_token`, `apiKey`,
  `Authorization`, `client_secret`, `password`, …) is replaced, in nested dicts and lists too;
- `scrub_text(text)`: inside any string, `Bearer …`/`Basic …` credentials, `name=value`
  pairs whose name is a secret's (`?access_token=…` in a URL, `token=…` in logfmt),
  `"name": "value"` pairs in JSON or a dict's repr, the password in `scheme://user:pw@host`,
  and any `known` secret the caller names are replaced.

Numbers, booleans and None are kept even under a secret's name (`prompt_tokens=812` is a
count, not a credential).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"

# Words that make a key a secret's name: `access_token`, `X-Api-Key`, `clientSecret` and
# `credentials_key` all have one. Plural counts (`tokens`, `prompt_tokens`) do not.
_SECRET_WORDS = frozenset(
    {
        "token", "secret", "key", "apikey", "authorization", "auth", "password", "passwd",
        "pwd", "cookie", "credential", "signature",
    }
)  # fmt: skip
# Whole names that are secrets' names even written as one word.
_SECRET_NAMES = frozenset({"accesstoken", "refreshtoken", "clientsecret", "idtoken", "xapikey"})
# In prose `access token: Session has expired` is a sentence, not a credential: before an
# unquoted `: `, a name must be compound (access_token, X-Api-Key) or one of these.
_SINGLE_WORD_NAMES = frozenset({"password", "passwd", "secret", "apikey", "authorization"})
_KNOWN_MIN_CHARS = 8  # shorter "secrets" would blot out ordinary words

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
# Every pattern below is tried only where a cheap substring search found its word: scanning
# all of a long text (a traceback) with them would cost a millisecond a line.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_STEMS = ("token", "secret", "key", "auth", "passw", "pwd", "cookie", "credential", "signature")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
# A name, a separator, and (looked at, not consumed, so a pair inside another pair's value
# is found too: `next=/cb?access_token=…`) its value.
_PAIR = re.compile(
    r"(?P<q1>[\"']?)(?P<name>[A-Za-z_][\w.-]*)(?P=q1)(?P<sep>\s*[:=]\s*)"
    r"(?=(?P<q2>[\"']?)(?P<value>[^\s\"'&,;)}\]<>]+))"
)
_CREDENTIALS = {  # scheme word → the pattern of it with its credential (group "value")
    "bearer": re.compile(r"(?i)bearer\s+(?!\[REDACTED\])(?P<value>[^\s\"',;]+)"),
    "basic": re.compile(r"(?i)basic\s+(?P<value>[A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])"),
}
_URL_PASSWORD = re.compile(r"://[^\s:/@]*:(?P<value>[^\s@/]+)@")
_SCALARS = (bool, int, float, type(None))


def _looks_encoded(value: str) -> bool:
    """base64 of `user:password`, not a word: "Basic Authentication" is prose."""
    return any(c.isdigit() or c in "+/=" for c in value) or any(c.isupper() for c in value[1:])


def _find_all(haystack: str, needle: str) -> Iterator[int]:
    at = haystack.find(needle)
    while at != -1:
        yield at
        at = haystack.find(needle, at + 1)


def _replace_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with each span replaced by REDACTED; overlapping spans are merged."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:  # a pair inside a redacted value
            merged[-1][1] = max(end, merged[-1][1])
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + REDACTED + text[end:]
    return text


@lru_cache(maxsize=1024)
def is_sensitive_key(name: str) -> bool:
    """Whether a key, header or parameter name is a secret's: token, secret, key, …"""
    words = _words(name)
    if not words:
        return False
    return "".join(words) in _SECRET_NAMES or any(w in _SECRET_WORDS for w in words)


def _words(name: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(_CAMEL.sub(r"\1_\2", name).lower()) if w]


def _is_secret_pair(match: re.Match[str]) -> bool:
    name, value = match["name"], match["value"]
    if not is_sensitive_key(name) or value.startswith(REDACTED[:-1]):
        return False
    if value.lower() in ("bearer", "basic") or (value.isdigit() and len(value) < 8):
        return False  # a credential rule has `Authorization: Bearer …`; `token_count=3`
    if "=" in match["sep"] or match["q1"] or match["q2"]:
        return True  # `name=value`, `"name": "value"`
    return len(_words(name)) > 1 or name.lower() in _SINGLE_WORD_NAMES


def _pair_spans(text: str, lowered: str) -> Iterator[tuple[int, int]]:
    """Spans of the values of secret-named pairs: each name holding a stem is tried once."""
    starts = set()
    for stem in _STEMS:
        for found in _find_all(lowered, stem):
            at = found
            while at > 0 and text[at - 1] in _NAME_CHARS:
                at -= 1
            while at < found and not (text[at].isalpha() or text[at] == "_"):
                at += 1  # a name starts with a letter: `--token=…` is the name `token`
            starts.add(at)
            if at > 0 and text[at - 1] in "\"'":  # `"name": …`, or a quote around `name=…`
                starts.add(at - 1)
    for start in starts:
        match = _PAIR.match(text, start)
        if match is not None and _is_secret_pair(match):
            yield match.span("value")


def scrub_text(text: str, known: Iterable[str] = ()) -> str:
    """`text` with credentials, secret-named pairs, URL passwords and `known` secrets replaced."""
    for secret in known:
        if len(secret) >= _KNOWN_MIN_CHARS and secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.translate(_ASCII_LOWER)  # same length as text, so positions carry over
    spans: list[tuple[int, int]] = []
    if "=" in text or ":" in text:
        spans += _pair_spans(text, lowered)
        if "@" in text:
            spans += (m.span("value") for m in _URL_PASSWORD.finditer(text))
    for word, pattern in _CREDENTIALS.items():
        for at in _find_all(lowered, word):
            if at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_"):
                continue  # inside a word
            match = pattern.match(text, at)
            if match is not None and (word == "bearer" or _looks_encoded(match["value"])):
                spans.append(match.span("value"))
    return _replace_spans(text, spans) if spans else text


def redact(value: Any, key: str | None = None, known: Iterable[str] = ()) -> Any:
    """`value` with secrets replaced: whole values under secret-named keys (at any depth),
    and `scrub_text` on every string. Other objects are kept unless their text holds a
    secret, in which case their scrubbed text replaces them."""
    if isinstance(value, _SCALARS):
        return value
    if key is not None and is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value, known)
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
        scrubbed = scrub_text(text, known)
        return value if scrubbed == text else scrubbed
    if isinstance(value, Mapping):
        return {k: redact(v, k if isinstance(k, str) else None, known) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact(v, None, known) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return scrub_object(value, known)


def scrub_object(value: Any, known: Iterable[str] = ()) -> Any:
    """An arbitrary object (an exception, a URL, a request): itself when neither its str nor
    its repr holds a secret, else its scrubbed text."""
    known = tuple(known)
    try:
        for text in (str(value), repr(value)):
            scrubbed = scrub_text(text, known)
            if scrubbed != text:
                return scrubbed
    except Exception:  # a broken __str__ must not break logging
        return f"<unprintable {type(value).__name__}>"
    return value
