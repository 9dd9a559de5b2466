"""Fair shares of the content and image queues between organizations.

Celery queues are first in, first out: a campaign of hundreds of briefs from one organization
would put every other organization's brief behind all of it. So each run's tasks carry a
priority from its organization's backlog (its runs still before publishing) when the run
starts: an organization with one run in the pipeline goes first, and each doubling of a
backlog costs one step. Within a burst, an organization's early runs go ahead of its own later
ones, which interleaves the runs of organizations that arrive together.

On the Redis transport a priority is a list per step, and a worker takes from the lower step
first (0 is the highest priority, and a message without one counts as 0: publish tasks and
beat ticks are never held behind a backlog). `celery_app` sets one step per level.
"""

from __future__ import annotations

#: The lowest priority; the Redis transport's levels are 0 (first) to 9.
LOWEST_PRIORITY = 9
PRIORITY_STEPS = list(range(LOWEST_PRIORITY + 1))


def priority_for_backlog(backlog: int) -> int:
    """0 for an organization with at most one run in the pipeline, one step lower each time
    its backlog doubles: 2 runs → 1, 3-4 → 2, 5-8 → 3, … 257 and more → 9."""
    return min(LOWEST_PRIORITY, max(0, backlog - 1).bit_length())
