"""The broker setting and the one mapping from fair-share rank to a message's priority."""

from __future__ import annotations

import pytest

from briefcast.pipeline.broker import celery_broker_url, is_amqp, redacted
from briefcast.pipeline.fairness import (
    AMQP_MAX_PRIORITY,
    LOWEST_PRIORITY,
    PRIORITY_STEPS,
    highest_priority,
    message_priority,
)
from briefcast.settings import Settings

REDIS = "redis://cache:6379/1"
RABBITMQ = "amqp://guest:guest@mq:5672/briefcast"
RANKS = range(LOWEST_PRIORITY + 1)


def test_unset_broker_url_is_redis_db_1_as_before() -> None:
    assert celery_broker_url(Settings(redis_url="redis://cache:6379", broker_url=None)) == REDIS
    assert celery_broker_url(Settings(redis_url=None, broker_url=None)) == "memory://"
    # `BROKER_URL=` (empty, as `${BROKER_URL:-}` in a compose file gives) counts as unset.
    assert celery_broker_url(Settings(redis_url="redis://cache:6379", broker_url="")) == REDIS


def test_broker_url_names_rabbitmq() -> None:
    settings = Settings(redis_url="redis://cache:6379", broker_url=RABBITMQ)
    assert celery_broker_url(settings) == RABBITMQ
    assert settings.redis_celery_url == REDIS  # still the result backend


@pytest.mark.parametrize(
    ("url", "amqp"),
    [
        (RABBITMQ, True),
        ("amqps://u:p@mq:5671/v", True),
        ("pyamqp://mq//", True),
        (REDIS, False),
        ("rediss://cache:6380/1", False),
        ("memory://", False),
    ],
)
def test_is_amqp(url: str, amqp: bool) -> None:
    assert is_amqp(url) is amqp


def test_redacted_hides_the_password_only() -> None:
    assert redacted(RABBITMQ) == "amqp://guest:***@mq:5672/briefcast"
    assert redacted(REDIS) == REDIS


def test_redis_takes_lower_numbers_first_so_a_rank_is_its_own_step() -> None:
    assert [message_priority(rank, REDIS) for rank in RANKS] == PRIORITY_STEPS
    assert highest_priority(REDIS) == 0  # what a message without a priority counts as


def test_rabbitmq_takes_higher_numbers_first_so_the_ranks_are_reversed() -> None:
    priorities = [message_priority(rank, RABBITMQ) for rank in RANKS]
    assert priorities == sorted(priorities, reverse=True)  # rank 0 the highest number
    assert set(priorities) == set(range(AMQP_MAX_PRIORITY + 1))  # every level used, in range
    assert highest_priority(RABBITMQ) == AMQP_MAX_PRIORITY
