"""Content-addressed media storage under the media root; the API serves it at /media/."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class LocalMediaStore:
    def __init__(self, root: Path):
        self.root = root

    def put(self, data: bytes, suffix: str = ".jpg") -> str:
        """Store bytes under their sha256; returns the key (a path relative to the root)."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}{suffix}"
        path = self.root / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # A unique temporary name per writer, then an atomic rename: readers never see
            # half a file, and two threads storing the same image do not collide.
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, path)
        return key

    def path(self, key: str) -> Path:
        return self.root / key
