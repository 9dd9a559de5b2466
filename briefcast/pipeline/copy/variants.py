"""Which copy a post goes out with: the first of its variants. The copy stage stores the model's
variants, the gate keeps those that pass, a reviewer replaces them with the edited copy; each
time the post's own copy becomes the first one kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from briefcast.models.posts import Post


def keep_variants(post: Post, variants: Sequence[Mapping[str, Any]]) -> None:
    """`variants` (PlatformCopy fields without the platform; at least one) on the post."""
    post.copy_variants = [dict(variant) for variant in variants]
    first = variants[0]
    post.caption, post.hashtags = first["caption"], first["hashtags"]
    post.headline, post.alt_text = first["headline"], first["alt_text"]
