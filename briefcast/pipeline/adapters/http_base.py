"""What both HTTP publishers share: one pooled client, and transport errors sorted by doubt."""

from __future__ import annotations

from typing import Any, Self

import httpx

from briefcast.pipeline.adapters.publisher import AmbiguousPublishError, TransientPublishError


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
                raise AmbiguousPublishError(f"no answer to {method} {url}: {exc!r}") from exc
            raise TransientPublishError(f"{method} {url} failed: {exc!r}") from exc
