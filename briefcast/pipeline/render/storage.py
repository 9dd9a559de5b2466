"""Content-addressed media storage; the API serves it at /media/<key>.

Behind a small interface so an S3-compatible store can follow: the pipeline only puts and
gets bytes by key, and asks for a key's public URL through the API's base URL.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

# What `put` makes and what the API serves: `ab/ab<62 more hex digits>.jpg`, the digest being
# the sha256 of the file's bytes. Sidecars and temporary files never match.
MEDIA_SUFFIXES = (".jpg", ".png", ".webp")
_KEY = re.compile(r"(?P<prefix>[0-9a-f]{2})/(?P<digest>[0-9a-f]{64})(?P<suffix>\.[a-z]+)")


MEDIA_PATH = "/media"  # where the API serves the store (`api.media.MediaFiles`)


def media_url(public_base_url: str, key: str) -> str:
    """The public URL of a stored image: what Instagram fetches, what the API's answers link."""
    return f"{public_base_url.rstrip('/')}{MEDIA_PATH}/{key}"


def is_content_addressed(key: str) -> bool:
    """True for a key `put` could have made for an image (the bytes are not read)."""
    match = _KEY.fullmatch(key)
    return bool(
        match and match["digest"].startswith(match["prefix"]) and match["suffix"] in MEDIA_SUFFIXES
    )


class MediaStore(Protocol):
    def put(self, data: bytes, suffix: str = ".jpg") -> str: ...

    def get(self, key: str) -> bytes: ...

    def put_beside(self, key: str, suffix: str, data: bytes) -> str: ...


class LocalMediaStore:
    def __init__(self, root: Path):
        self.root = root

    def put(self, data: bytes, suffix: str = ".jpg") -> str:
        """Store bytes under their sha256; returns the key (a path relative to the root)."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}{suffix}"
        self._write(self.root / key, data)
        return key

    def put_beside(self, key: str, suffix: str, data: bytes) -> str:
        """A sidecar next to a stored object (the image's alt text and facts)."""
        sidecar = f"{key.rsplit('.', 1)[0]}{suffix}"
        self._write(self.root / sidecar, data, overwrite=True)
        return sidecar

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"media key outside the store: {key!r}")
        return path

    def _write(self, path: Path, data: bytes, *, overwrite: bool = False) -> None:
        if path.exists() and not overwrite:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # A unique temporary name per writer, then an atomic rename: readers never see half a
        # file, and two threads storing the same object do not collide.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)
