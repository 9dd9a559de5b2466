"""Shared set-up for the benchmarks: a Redis, the OpenAI sandbox, a two-platform brief."""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from briefcast.embedded import EmbeddedServices
from briefcast.pipeline.copy.model import CopyBrief
from briefcast.sandbox import openai_api
from briefcast.sandbox.server import RunningServer, serve_in_thread

BRIEF = CopyBrief(
    topic="Our autumn sneaker drop is here",
    key_points=["Made from recycled ocean plastic", "Cushioned soles", "Free returns for 60 days"],
    brand_voice="playful, confident",
    audience="urban runners",
    platforms=["instagram", "linkedin"],
)


@contextmanager
def redis_url() -> Iterator[str]:
    """REDIS_URL when set, else an embedded Redis for the length of the benchmark."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with tempfile.TemporaryDirectory() as tmp:
        services = EmbeddedServices(Path(tmp)).start(postgres=False)
        try:
            yield services.redis_url
        finally:
            services.stop()


@contextmanager
def openai_sandbox() -> Iterator[RunningServer]:
    server = serve_in_thread(openai_api.create_app())
    try:
        yield server
    finally:
        server.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(label: str, seconds: list[float], unit: float = 1000.0, name: str = "ms") -> str:
    return (
        f"{label}: n={len(seconds)}  median {statistics.median(seconds) * unit:.2f} {name}  "
        f"p95 {percentile(seconds, 0.95) * unit:.2f} {name}  max {max(seconds) * unit:.2f} {name}"
    )
