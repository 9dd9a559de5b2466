"""A stand-in for the beat process in tests: sends the beat entries on a short interval."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from briefcast.pipeline.celery_app import app, beat_schedule


@contextmanager
def beat_ticking(interval_s: float = 0.3) -> Iterator[None]:
    stop = threading.Event()
    names = [entry["task"] for entry in beat_schedule().values()]

    def tick() -> None:
        while not stop.wait(interval_s):
            for name in names:
                app.send_task(name, ignore_result=True)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
