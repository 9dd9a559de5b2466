"""Beat's heartbeat: a Redis key beat refreshes as it sends its ticks, read by `GET /ready`.

Beat sends `pipeline.publish.dispatch_due` every second, so "beat sent a task within the last
few seconds" is "beat is alive and its schedule is running". Rather than a thread of its own,
the beat process sets the key (with a TTL) from Celery's `before_task_publish` signal, which
it fires for every tick it sends; `beat_init` (sent only in the beat process) turns that on.
Signals: https://docs.celeryq.dev/en/stable/userguide/signals.html
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from celery.signals import beat_init, before_task_publish

from briefcast.settings import get_settings

KEY = "briefcast:beat:heartbeat"
# Beat's fastest entry runs every second: ten seconds without a send is a stopped beat.
TTL_S = 10
# At most one write per second, however many entries are due at once.
_MIN_INTERVAL_S = 1.0


class Heartbeat:
    def __init__(self, client: redis.Redis[bytes]) -> None:
        self.client = client
        self._last = 0.0
        self._lock = threading.Lock()

    def beat(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < _MIN_INTERVAL_S:
                return
            self._last = now
        try:
            self.client.set(KEY, str(time.time()), ex=TTL_S)
        except redis.RedisError:
            self._last = 0.0  # try again with the next send; readiness reports the gap


_heartbeat: Heartbeat | None = None


@beat_init.connect
def start(**_: Any) -> None:
    """This process is beat: its sends are its heartbeat from now on."""
    global _heartbeat
    client = redis.Redis.from_url(
        get_settings().redis_sessions_url, socket_timeout=2, socket_connect_timeout=2
    )
    _heartbeat = Heartbeat(client)


def stop() -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.client.close()
    _heartbeat = None


@before_task_publish.connect
def _on_publish(**_: Any) -> None:
    if _heartbeat is not None:
        _heartbeat.beat()
