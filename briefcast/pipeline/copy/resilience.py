"""Retrying model calls: backoff with jitter on 429, 5xx and timeouts, honouring retry-after.

The SDK's own retries are switched off (max_retries=0) so that this one policy decides, and
so a test can count the attempts. A spent quota and a rejected key are not retried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import openai
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from briefcast.pipeline.backoff import backoff_s

T = TypeVar("T")
MAX_RETRY_AFTER_S = 20.0  # a longer wait is better spent on the next model in the chain
_RETRYABLE = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APITimeoutError,
    openai.APIConnectionError,
)


def is_fatal(exc: BaseException) -> bool:
    """Errors that waiting will not fix, for this account: stop using the OpenAI models."""
    if isinstance(exc, openai.RateLimitError):
        return exc.code == "insufficient_quota"
    return isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError)


def retry_after_s(exc: BaseException | None) -> float | None:
    """retry-after-ms, then retry-after (seconds), as the SDK reads them (docs/contracts §1.7)."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    for header, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value is not None:
            try:
                return float(value) / scale
            except ValueError:
                return None
    return None


def _retryable(exc: BaseException) -> bool:
    if not isinstance(exc, _RETRYABLE) or is_fatal(exc):
        return False
    asked = retry_after_s(exc)
    return asked is None or asked <= MAX_RETRY_AFTER_S


def _wait(state: RetryCallState) -> float:
    asked = retry_after_s(state.outcome.exception() if state.outcome else None)
    if asked is not None:
        return asked
    # Full jitter: anywhere up to 0.5 s, 1 s, 2 s, … (at most 8 s) after the n-th failure.
    return backoff_s(state.attempt_number - 1, base_s=0.5, cap_s=8.0, jitter=(0.0, 1.0))


def call_with_retries(fn: Callable[[], T], attempts: int = 3) -> T:
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=_wait,
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    return retrying(fn)
