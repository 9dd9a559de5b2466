"""Schedule computations for the API in a child process, under a hard time limit.

dateutil walks a rule period by period until it finds an occurrence. For a rule that has none
at all (`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`) that is a walk to the year 9999: seconds of
CPU, holding the GIL. A thread running it cannot be stopped; a process can. Each API process
keeps one small pool, started at first use, and kills and replaces it when a computation
overruns, so a hostile rule costs one 422 and `BUDGET_S` of one core. The pool starts at the
first campaign request (a process that never sees one never pays for it), and its start-up
is not counted against the budget.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.pool import Pool
from typing import Any, TypeVar

T = TypeVar("T")
BUDGET_S = 2.0
_lock = threading.Lock()
_pool: Pool | None = None


class ScheduleTimeoutError(TimeoutError):
    """The computation did not finish within BUDGET_S and was stopped."""


# What the computations need, imported once in the fork server rather than per child.
_PRELOAD = ["briefcast.api.campaigns"]
START_TIMEOUT_S = 60.0


def _ready() -> bool:
    return True


def _current_pool() -> Pool:
    """The pool, started (and its child ready) before any budgeted call is made on it."""
    global _pool
    with _lock:
        if _pool is None:
            # forkserver: children fork from a clean server process, not from this
            # multi-threaded one.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            pool = context.Pool(processes=1)
            pool.apply_async(_ready).get(START_TIMEOUT_S)
            _pool = pool
        return _pool


def _replace(pool: Pool) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.terminate()


def run(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the pool (both picklable); blocks, so call it off the event loop."""
    pool = _current_pool()
    pending = pool.apply_async(fn, args)
    try:
        result: T = pending.get(BUDGET_S)
    except multiprocessing.TimeoutError as exc:
        _replace(pool)
        raise ScheduleTimeoutError(f"stopped after {BUDGET_S} s") from exc
    return result


def shutdown() -> None:
    with _lock:
        pool = _pool
    if pool is not None:
        _replace(pool)
