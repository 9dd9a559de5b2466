"""The publisher interface every social platform implements.

A publish is a small state machine (design invariant 5): the service saves every id the
platform hands back *before* the next call, through the `save` callback, so a retry or a
takeover resumes from the saved ids instead of posting again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from briefcast.redaction import scrub_text


@dataclass(frozen=True)
class PublishRequest:
    post_id: str
    caption: str
    image_url: str  # public URL of the rendered JPEG (Instagram fetches it)
    image_path: str  # local path of the same JPEG (LinkedIn takes the bytes)
    alt_text: str


@dataclass
class PublishProgress:
    """Ids already known from earlier attempts; the publisher fills in the rest."""

    container_id: str | None = None  # Instagram container, LinkedIn image URN
    platform_post_id: str | None = None  # Instagram media id, LinkedIn share URN
    permalink: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


#: Called with the ids known so far before each further platform call, so a crash never
#: loses an id the platform has issued. What `publish` returns the caller commits itself.
SaveProgress = Callable[[PublishProgress], None]


class PublishError(Exception):
    """Base of the three outcomes the pipeline acts on."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        # The message becomes a post's status_reason, an attempt's error and a log line: no
        # credential in it (a platform may echo one, an exception may name a URL with one).
        message = scrub_text(message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class TransientPublishError(PublishError):
    """Retry with backoff: 429, 5xx, throttling, timeouts before the request was sent."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
    ):
        super().__init__(message, status=status, code=code)
        self.retry_after_s = retry_after_s


class HeldPublishError(TransientPublishError):
    """Over a platform quota or throttle: wait, visibly, without counting it as a failure."""


class PermanentPublishError(PublishError):
    """Stop with the platform's message: validation, permissions, retired version."""


def reconnect_reason(platform: str, message: str) -> str:
    """What a person reads on a post or account whose token the platform refused."""
    return f"reconnect the {platform} account: {message}"


class AuthPublishError(PermanentPublishError):
    """The token expired or was revoked: a person must reconnect the account."""

    def reason(self, platform: str) -> str:
        return reconnect_reason(platform, self.message)


class AccountUnavailableError(AuthPublishError):
    """Refused before any platform call: the organization has no usable account on the
    platform (none connected, or one waiting for a reconnect). The message says what to do."""

    def reason(self, platform: str) -> str:
        return self.message


class AmbiguousPublishError(PublishError):
    """The request may have taken effect: reconcile, never blindly resend."""


@dataclass(frozen=True)
class PostMetrics:
    values: dict[str, int]


class Publisher(Protocol):
    platform: str

    def publish(
        self, request: PublishRequest, progress: PublishProgress, save: SaveProgress
    ) -> PublishProgress: ...

    def fetch_metrics(self, platform_post_id: str) -> PostMetrics: ...
