"""What contract tests share besides fixtures: sandbox handles, image bytes, hermetic settings."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image

from briefcast.pipeline.adapters.publisher import PublishProgress
from briefcast.sandbox.server import RunningServer
from briefcast.settings import Settings


def image_bytes(width: int, height: int, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buf, fmt)
    return buf.getvalue()


@dataclass
class ImageHost:
    """A tiny static host the Instagram sandbox fetches `image_url` from."""

    base_url: str
    files: dict[str, tuple[bytes, str]]
    fetches: list[str] = field(default_factory=list)  # names served, in order

    def add(self, name: str, data: bytes, content_type: str = "image/jpeg") -> str:
        self.files[name] = (data, content_type)
        return f"{self.base_url}/media/{name}"


@dataclass
class Sandbox:
    """A running sandbox plus a plain client for its wire and its `/_sandbox/` controls."""

    server: RunningServer
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.server.base_url, timeout=5)

    def records(self, path_contains: str = "") -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.http.get("/_sandbox/records").json()
        return [r for r in rows if path_contains in r["path"]]

    def posts(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.http.get("/_sandbox/posts").json()
        return rows

    def fault(self, **spec: Any) -> None:
        assert self.http.post("/_sandbox/faults", json=spec).status_code == 201

    def clock(self, **spec: Any) -> float:
        now: float = self.http.post("/_sandbox/clock", json=spec).json()["now"]
        return now


def settings_for(
    ig_url: str = "http://127.0.0.1:9", li_url: str = "http://127.0.0.1:9", **kw: Any
) -> Settings:
    return Settings(  # no .env: contract tests stay hermetic
        _env_file=None,
        instagram_graph_base_url=ig_url,
        linkedin_api_base_url=li_url,
        **{"http_timeout_s": 5.0, **kw},
    )


class Saves:
    """A `save` callback that keeps a snapshot of every call."""

    def __init__(self) -> None:
        self.snapshots: list[PublishProgress] = []

    def __call__(self, progress: PublishProgress) -> None:
        self.snapshots.append(
            PublishProgress(
                progress.container_id,
                progress.platform_post_id,
                progress.permalink,
                dict(progress.extra),
            )
        )

    @property
    def last(self) -> PublishProgress:
        return self.snapshots[-1]
