"""What both HTTP publishers share: one pooled client, and transport errors sorted by doubt."""

from __future__ import annotations

from typing import Any, Self

import httpx

from briefcast.pipeline.adapters.publisher import AmbiguousPublishError, TransientPublishError
from briefcast.redaction import is_sensitive_key, scrub_text


def request_secrets(request: httpx.Request) -> list[str]:
    """The credentials a request carried: its Authorization header's, and secret-named query
    parameters' (the Graph token refresh sends `access_token` in the query, docs/contracts
    §2.12)."""
    found = [request.headers.get("authorization", "").partition(" ")[2].strip()]
    found += [value for name, value in request.url.params.multi_items() if is_sensitive_key(name)]
    return [secret for secret in found if secret]


def platform_message(resp: httpx.Response, message: str) -> str:
    """A platform's error text without the credentials of the request it answers (a platform
    may quote the token it refused, as Graph's "Malformed access token …" does)."""
    try:
        request = resp.request
    except RuntimeError:  # a response built by hand, not received
        return scrub_text(message)
    return scrub_text(message, request_secrets(request))


def _without_query(url: str) -> str:
    """A URL for a message: the query may hold a credential or a signature (an upload URL)."""
    return url.split("?", 1)[0]


class HttpPublisherBase:
    display_name = "the platform"

    def __init__(self, http: httpx.Client):
        self._http = http

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, url: str, *, ambiguous: bool = False, **kw: Any) -> httpx.Response:
        """Send; a request that never left is transient, one that left without an answer is
        ambiguous when `ambiguous` (it had a side effect), else transient."""
        try:
            return self._http.request(method, url, **kw)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientPublishError(f"cannot reach {self.display_name}: {exc!r}") from exc
        except httpx.TransportError as exc:
            if ambiguous:
                raise AmbiguousPublishError(
                    f"no answer to {method} {_without_query(url)}: {exc!r}"
                ) from exc
            raise TransientPublishError(f"{method} {_without_query(url)} failed: {exc!r}") from exc
