"""The chaos drill, small: 12 briefs, one worker SIGKILL, one Redis restart, random faults,
and one campaign with two occurrences a minute apart, with beat SIGKILLed and started again
before the second (so only a beat tick after the restart can materialize it).

It runs its own stack on its own embedded PostgreSQL and Redis (`Stack(isolated=True)`), even
when DATABASE_URL / REDIS_URL name the machine's services for the rest of the suite, and
stops every process it started, pass or fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from briefcast.chaos import ChaosConfig, audit, run_chaos
from briefcast.models.posts import PostStatus

pytestmark = [pytest.mark.chaos, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_short_drill_loses_nothing_and_posts_each_once() -> None:
    doctored: dict[str, Any] = {}

    def doctor(session: Session, held: dict[str, list[dict[str, Any]]]) -> None:
        # The audit must be able to fail: a second copy of a LinkedIn post is a duplicate,
        # an Instagram post the platform lost is a mismatch.
        copy = {**held["linkedin"][0], "id": "urn:li:share:7000000000000000001"}
        doctored["audit"] = audit(
            session, {"linkedin": [*held["linkedin"], copy], "instagram": held["instagram"][1:]}
        )

    config = ChaosConfig(
        briefs=12,
        # The briefs settle in about 50 s, the campaign's second occurrence is 2-3 min after
        # they are in; the margin is for a loaded machine.
        duration_limit_s=420,
        kill_every_s=3,
        max_kills=1,
        redis_restarts=1,
        redis_restart_at=0.25,
        seed=3,
        data_dir=ROOT / ".data" / "chaos-test",
        progress_every_s=5,
        campaigns=1,
        campaign_occurrences=2,
        # Beat down from 15 to 45 s after the campaign: a tick sent before (live for 60 s)
        # materializes through 105 s at most, and the second occurrence is 120 s or later.
        campaign_horizon_s=30,
        beat_kill_after_s=15,
        beat_down_s=30,
    )
    report = run_chaos(config, say=lambda line: print(f"[chaos] {line}"), inspect=doctor)
    print(report.render())

    assert (report.kills, report.redis_restarts) == (1, 1)
    assert sum(c["matched"] for c in report.faults.values()) >= 24  # every publish call drawn
    assert report.audit.lost == []
    assert report.audit.duplicates == []
    assert report.audit.mismatches == []
    published = report.audit.posts_by_status[PostStatus.PUBLISHED]
    assert sum(report.audit.sandbox_posts.values()) == published > 0

    campaigns = report.campaigns
    assert campaigns is not None and campaigns.due == 2
    assert (campaigns.missing, campaigns.duplicates, campaigns.unexpected) == ([], [], [])
    assert campaigns.rows == {"created": 2} and campaigns.runs == 2
    assert campaigns.after_beat_restart >= 1  # a tick after beat's restart made it

    caught = doctored["audit"]
    assert len(caught.duplicates) == 1 and "2 platform posts" in caught.duplicates[0]
    assert len(caught.mismatches) == 1 and "holds nothing" in caught.mismatches[0]
