"""Fair shares of the content and image queues between organizations.

Celery queues are first in, first out: a campaign of hundreds of briefs from one organization
would put every other organization's brief behind all of it. So each run's tasks carry a
priority from its organization's backlog (its runs still before publishing) when the run
starts: an organization with one run in the pipeline goes first, and each doubling of a
backlog costs one step. Within a burst, an organization's early runs go ahead of its own later
ones, which interleaves the runs of organizations that arrive together.

A backlog gives a rank, 0 (first) to 9 (last); `message_priority` turns it into the number
the broker orders by, the one place that knows the two transports count in opposite
directions (Celery's docs, "Message Priorities"):

- Redis transport: a list per step, and a worker takes from the lower step first (0 is the
  highest priority, and a message without one counts as 0). `celery_app` sets one step per
  rank.
- RabbitMQ: a queue declared with `x-max-priority` delivers higher numbers first (9 is the
  highest here), and a message without one counts as 0, the lowest. `celery_app` therefore
  gives every route the highest priority as its default on RabbitMQ.

On both, publish tasks and beat ticks carry the highest priority: they are never held behind
a backlog.
"""

from __future__ import annotations

from briefcast.pipeline.broker import is_amqp

#: The last rank; the Redis transport's levels are 0 (first) to 9.
LOWEST_PRIORITY = 9
PRIORITY_STEPS = list(range(LOWEST_PRIORITY + 1))
#: RabbitMQ queues' `x-max-priority`: one level per rank, as on Redis.
AMQP_MAX_PRIORITY = LOWEST_PRIORITY


def priority_for_backlog(backlog: int) -> int:
    """The rank: 0 for an organization with at most one run in the pipeline, one step lower
    each time its backlog doubles: 2 runs → 1, 3-4 → 2, 5-8 → 3, … 257 and more → 9."""
    return min(LOWEST_PRIORITY, max(0, backlog - 1).bit_length())


def message_priority(rank: int, broker_url: str) -> int:
    """The priority a message carries on this broker so that rank 0 is taken first."""
    return AMQP_MAX_PRIORITY - rank if is_amqp(broker_url) else rank


def highest_priority(broker_url: str) -> int:
    return message_priority(0, broker_url)
