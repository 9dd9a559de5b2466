"""Check stage: every post's copy must clear the sentiment floor, or the run waits for review."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from briefcast.models.repositories import pipeline as repo
from briefcast.models.runs import RunStatus, StageOutcome
from briefcast.pipeline.check.sentiment import score

STAGE = "check"


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    reasons: list[str]


def check_copy(session: Session, run_id: uuid.UUID, floor: float) -> CheckOutcome | None:
    """Score each post; halt the run in `needs_review` if any falls below `floor`.

    Returns None when the run is not at this stage (a redelivered task after the fact).
    """
    run = repo.get_run(session, run_id, lock=True)
    if run is None or run.status != RunStatus.CHECKING:
        return None
    repo.start_stage(session, run_id, STAGE)
    reasons: list[str] = []
    scores: dict[str, float] = {}
    for post in repo.posts_of_run(session, run_id):
        result = score(post.caption or "")
        post.sentiment = result.combined
        scores[post.platform] = result.combined
        if result.combined < floor:
            reasons.append(
                f"{post.platform} copy scored {result.combined:+.2f} for sentiment, "
                f"below the floor of {floor:+.2f}"
            )
    detail = {"sentiment": scores, "floor": floor, "reasons": reasons}
    if reasons:
        repo.set_run_status(session, run_id, RunStatus.NEEDS_REVIEW, "; ".join(reasons))
        repo.finish_stage(session, run_id, STAGE, StageOutcome.HALTED, detail)
        return CheckOutcome(passed=False, reasons=reasons)
    repo.set_run_status(session, run_id, RunStatus.RENDERING)
    repo.finish_stage(session, run_id, STAGE, StageOutcome.SUCCEEDED, detail)
    return CheckOutcome(passed=True, reasons=[])
