"""Contract fixtures: real sockets, the sandboxes and the production clients, no databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Response

from briefcast.pipeline.adapters.instagram import InstagramPublisher
from briefcast.pipeline.adapters.linkedin import LinkedInPublisher
from briefcast.pipeline.adapters.publisher import PublishRequest
from briefcast.sandbox import instagram, linkedin
from briefcast.sandbox.server import serve_in_thread
from tests.contract.helpers import ImageHost, Sandbox, Saves, image_bytes, settings_for


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
    # A valid JPEG padded past 8 MiB: decoders ignore bytes after EOI, Meta counts them
    # (docs/contracts §2.9).
    host.add("big.jpg", image_bytes(1080, 1080) + bytes(8 * 1024 * 1024))
    yield host
    server.stop()


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


@pytest.fixture
def saves() -> Saves:
    return Saves()
