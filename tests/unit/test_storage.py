"""LocalMediaStore: content-addressed files under the media root."""

from __future__ import annotations

import hashlib
from pathlib import Path

from briefcast.pipeline.render.storage import LocalMediaStore


def test_key_is_sha256_of_content(tmp_path: Path) -> None:
    data = b"\xff\xd8 a jpeg, more or less"
    key = LocalMediaStore(tmp_path).put(data)
    digest = hashlib.sha256(data).hexdigest()
    assert digest in key
    assert key.endswith(".jpg")
    assert Path(key).name == f"{digest}.jpg"


def test_same_bytes_same_key_different_bytes_different_key(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    assert store.put(b"one") == store.put(b"one")
    assert LocalMediaStore(tmp_path / "elsewhere").put(b"one") == store.put(b"one")
    assert store.put(b"one") != store.put(b"two")


def test_file_lands_under_root_with_content(tmp_path: Path) -> None:
    root = tmp_path / "media"
    store = LocalMediaStore(root)
    key = store.put(b"payload")
    path = store.path(key)
    assert path == root / key
    assert path.resolve().is_relative_to(root.resolve())
    assert path.read_bytes() == b"payload"
    assert not Path(key).is_absolute()


def test_put_is_idempotent_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    first = store.put(b"same")
    mtime = store.path(first).stat().st_mtime_ns
    second = store.put(b"same")
    assert first == second
    assert store.path(first).stat().st_mtime_ns == mtime  # not rewritten
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [store.path(first)]


def test_existing_file_is_not_overwritten(tmp_path: Path) -> None:
    # Same key means same content, so an existing file is trusted as is.
    store = LocalMediaStore(tmp_path)
    key = store.put(b"abc")
    store.path(key).write_bytes(b"abc")
    assert store.put(b"abc") == key
    assert store.path(key).read_bytes() == b"abc"


def test_suffix_is_kept(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    key = store.put(b"png bytes", suffix=".png")
    assert key.endswith(".png")
    assert store.path(key).read_bytes() == b"png bytes"
    assert store.put(b"png bytes", suffix=".jpg") != key


def test_many_objects_are_fanned_out(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    keys = {store.put(str(i).encode()) for i in range(20)}
    assert len(keys) == 20
    for key in keys:
        prefix, name = key.split("/")
        assert name.startswith(prefix) and len(prefix) == 2
