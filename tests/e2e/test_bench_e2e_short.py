"""`python -m bench.e2e`, small: a burst over three organizations with accounts of their own.

It runs its own stack on its own embedded PostgreSQL and Redis, like the chaos drill. Only
behaviour is asserted (every run published, each post once, the solo brief out); the speed
targets are the benchmark's, printed but not asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.e2e import judge, main
from briefcast.models.runs import RunStatus

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
BRIEFS = 30


@pytest.mark.timeout(600)
def test_short_burst_publishes_every_brief_once() -> None:
    result = main(
        [
            *("--briefs", str(BRIEFS), "--orgs", "3"),
            *("--ingress-requests", "100", "--warmup", "20"),
            *("--timeout", "300", "--data-dir", str(ROOT / ".data" / "bench-e2e-test")),
        ]
    )

    assert result.duplicates == []
    assert result.lost == []
    assert result.accepted == BRIEFS and result.complete == BRIEFS
    assert result.runs_by_status == {RunStatus.PUBLISHED: BRIEFS + 1}  # the burst and the solo
    assert result.solo_delay_s is not None
    assert all(finish is not None for finish in result.org_finish_s.values())
    assert result.paused.statuses == {202: 100}  # the probe was accepted, then taken out
    assert {t.name for t in judge(result)} >= {"0 duplicates", "0 lost"}
