"""Contract fixtures: real sockets, the sandboxes and the production clients, no databases."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from PIL import Image

from briefcast.pipeline.adapters.instagram import InstagramPublisher
from briefcast.pipeline.adapters.linkedin import LinkedInPublisher
from briefcast.pipeline.adapters.publisher import PublishProgress, PublishRequest
from briefcast.sandbox import instagram, linkedin
from briefcast.sandbox.server import RunningServer, serve_in_thread
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


@pytest.fixture(scope="session")
def image_host() -> Iterator[ImageHost]:
    files: dict[str, tuple[bytes, str]] = {}
    fetches: list[str] = []
    app = FastAPI()

    @app.get("/media/{name}")
    def get(name: str) -> Response:
        fetches.append(name)
        if name not in files:
            return Response(status_code=404)
        data, ctype = files[name]
        return Response(data, media_type=ctype)

    server = serve_in_thread(app)
    host = ImageHost(server.base_url, files, fetches)
    host.add("square.jpg", image_bytes(1080, 1080))
    host.add("square.png", image_bytes(1080, 1080, "PNG"), "image/png")
    host.add("wide.jpg", image_bytes(1600, 800))
    # A valid JPEG padded past 8 MiB: decoders ignore bytes after EOI, Meta counts them (§2.9).
    host.add("big.jpg", image_bytes(1080, 1080) + bytes(8 * 1024 * 1024))
    yield host
    server.stop()


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


@pytest.fixture
def start(request: pytest.FixtureRequest) -> Callable[[Any], Sandbox]:
    """Start any sandbox app for this test; stopped at teardown."""

    def _start(app: Any) -> Sandbox:
        box = Sandbox(serve_in_thread(app))
        request.addfinalizer(box.server.stop)
        request.addfinalizer(box.http.close)
        return box

    return _start


@pytest.fixture
def ig(start: Callable[[Any], Sandbox]) -> Sandbox:
    return start(instagram.create_app())


@pytest.fixture
def li(start: Callable[[Any], Sandbox]) -> Sandbox:
    return start(linkedin.create_app())


def settings_for(
    ig_url: str = "http://127.0.0.1:9", li_url: str = "http://127.0.0.1:9", **kw: Any
) -> Settings:
    return Settings(  # no .env: contract tests stay hermetic
        _env_file=None,
        instagram_graph_base_url=ig_url,
        linkedin_api_base_url=li_url,
        **{"http_timeout_s": 5.0, **kw},
    )


@pytest.fixture
def ig_publisher(ig: Sandbox) -> Iterator[InstagramPublisher]:
    pub = InstagramPublisher.from_settings(
        settings_for(ig_url=ig.server.base_url), poll_interval_s=0.01
    )
    yield pub
    pub.close()


@pytest.fixture
def li_publisher(li: Sandbox) -> Iterator[LinkedInPublisher]:
    pub = LinkedInPublisher.from_settings(
        settings_for(li_url=li.server.base_url), poll_interval_s=0.01
    )
    yield pub
    pub.close()


@pytest.fixture
def post_request(image_host: ImageHost, tmp_path: Path) -> PublishRequest:
    path = tmp_path / "post.jpg"
    path.write_bytes(image_bytes(1080, 1350))
    return PublishRequest(
        post_id="post-1",
        caption="Autumn drop is live (limited run) #autumn",
        image_url=image_host.add("post.jpg", path.read_bytes()),
        image_path=str(path),
        alt_text="A jacket on a hanger",
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


@pytest.fixture
def saves() -> Saves:
    return Saves()
