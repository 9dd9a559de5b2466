"""Content-addressed media storage under the media root; the API serves it at /media/."""

from __future__ import annotations

import hashlib
import os
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
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: readers never see half a file
        return key

    def path(self, key: str) -> Path:
        return self.root / key
