"""Which broker Celery talks to: Redis db 1 (the default) or RabbitMQ (`BROKER_URL=amqp://…`).

Redis stays the result backend and the cache either way; only task messages move. The two
transports differ where the product relies on them: redelivery (Redis: after a visibility
timeout; RabbitMQ: when the consumer's connection closes), priorities (see `fairness`), and
durability (RabbitMQ confirms each publish). README "Choosing a broker" says when to use which.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from briefcast.settings import Settings

# kombu's names for its AMQP transport (kombu's docs, "Connections and transports").
AMQP_SCHEMES = frozenset({"amqp", "amqps", "pyamqp"})


def celery_broker_url(settings: Settings) -> str:
    """BROKER_URL when set, else Redis db 1, else (no Redis at all) an in-memory broker."""
    if settings.broker_url:
        return settings.broker_url
    return settings.redis_celery_url if settings.redis_url else "memory://"


def is_amqp(broker_url: str) -> bool:
    return urlsplit(broker_url).scheme in AMQP_SCHEMES


def redacted(broker_url: str) -> str:
    """The URL without its password, for saying which broker is in use."""
    parts = urlsplit(broker_url)
    if parts.password is None:
        return broker_url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def delete_queues(broker_url: str, names: Iterable[str]) -> None:
    """Delete queues with everything in them (a queue that does not exist is fine).

    Deleted rather than purged: the next declaration then creates them with the current
    arguments (`x-max-priority`), where a purged queue would keep its old ones and refuse a
    declaration that differs (PRECONDITION_FAILED).
    """
    from kombu import Connection, Queue

    with Connection(broker_url, connect_timeout=10) as connection:
        channel = connection.default_channel
        for name in names:
            Queue(name, channel=channel).delete()
