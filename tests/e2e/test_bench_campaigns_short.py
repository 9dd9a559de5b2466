"""`python -m bench.campaigns`, small: 1,500 campaigns on the suite's database, ticked across
Europe's spring-forward (01:00 UTC on 28 March 2027), two ticks at once at the end.

Only behaviour is asserted (each due occurrence once, with its run); the benchmark's 1 s
target is printed by the benchmark, not asserted here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.campaigns import BenchConfig, judge, render, run

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_short_bench_makes_each_due_occurrence_once(db: None) -> None:
    config = BenchConfig(
        campaigns=1500,
        orgs=4,
        ticks=3,
        max_age_days=7,  # young schedules expand fast; timing is not what this test is for
        seed=2,
        now=datetime(2027, 3, 28, 0, 56, tzinfo=UTC),
    )
    result = run(config, say=lambda line: print(f"[bench.campaigns] {line}"))
    print(render(result))

    check = result.check
    assert check.expected > 0 and result.concurrent_due > 0  # the pair had work to split
    assert check.duplicates == []
    assert check.missing == []
    assert check.unexpected == []
    assert check.rows == check.expected
    assert check.runs == check.by_status["created"] == check.events
    failed = {t.name for t in judge(result) if not t.ok}
    assert failed <= {"tick <= 1 s"}
