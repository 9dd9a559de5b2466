"""/media serves stored images by their content-addressed names, and nothing else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from briefcast.api.media import MediaFiles
from briefcast.pipeline.render.storage import LocalMediaStore, is_content_addressed

DIGEST = hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        (f"{DIGEST[:2]}/{DIGEST}.jpg", True),
        (f"{DIGEST[:2]}/{DIGEST}.png", True),
        (f"{DIGEST[:2]}/{DIGEST}.webp", True),
        (f"{DIGEST[:2]}/{DIGEST}.json", False),  # a sidecar
        (f"{DIGEST[:2]}/{DIGEST}.svg", False),
        (f"ff/{DIGEST}.jpg", DIGEST.startswith("ff")),  # the folder is the digest's start
        (f"{DIGEST[:2]}/{DIGEST.upper()}.jpg", False),
        (f"{DIGEST[:2]}/{DIGEST[:-1]}.jpg", False),
        (f"{DIGEST[:2]}/tmpab12cd.tmp", False),
        (f"../{DIGEST[:2]}/{DIGEST}.jpg", False),
        ("logo.png", False),
    ],
)
def test_content_addressed_keys(key: str, ok: bool) -> None:
    assert is_content_addressed(key) is ok


def test_only_content_addressed_images_are_served(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    key = store.put(b"\xff\xd8 a jpeg, more or less")
    sidecar = store.put_beside(key, ".json", b'{"alt_text": "hi"}')
    (tmp_path / "notes.txt").write_text("not media")
    (tmp_path / key.split("/")[0] / "renamed.jpg").write_bytes(b"\xff\xd8")
    app = Starlette(routes=[Mount("/media", MediaFiles(directory=tmp_path))])
    with TestClient(app) as client:
        served = client.get(f"/media/{key}")
        assert served.status_code == 200 and served.content == store.get(key)
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in served.headers["cache-control"]
        for path in (sidecar, "notes.txt", f"{key.split('/')[0]}/renamed.jpg", key.split("/")[0]):
            assert client.get(f"/media/{path}").status_code == 404, path
