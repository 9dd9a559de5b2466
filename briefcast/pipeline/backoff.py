"""How long to wait before trying again: one exponential formula for every retry the pipeline
makes (a stage task, a publish, a metric read, a model call); each caller picks its scale."""

from __future__ import annotations

import math
import random


def backoff_s(
    attempt: int,
    *,
    base_s: float = 1.0,
    cap_s: float = math.inf,
    jitter: tuple[float, float] | None = None,
) -> float:
    """`base_s * 2**attempt`, at most `cap_s`, times a random factor drawn from `jitter`, so
    that retries which failed together do not come back together."""
    delay = min(base_s * 2.0**attempt, cap_s)
    if jitter is None:
        return delay
    return delay * random.uniform(*jitter)  # noqa: S311 - spreading retries, not a secret
