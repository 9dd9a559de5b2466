"""Check stage: the copy gate.

Every variant is judged (sentiment against the brand voice's minimum, avoided words,
competitors, profanity, and OpenAI moderation when a key is set). A platform passes when one
of its variants does; failing variants are dropped. When a platform has none left, the run is
sent back for rewriting with the reasons (bounded), and after the bound it waits for a person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from briefcast.models.events import RUN_SUBMITTED, run_event_payload
from briefcast.models.repositories import briefs as briefs_repo
from briefcast.models.repositories import outbox as outbox_repo
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.repositories import voices
from briefcast.models.runs import RunStatus, StageOutcome
from briefcast.models.session import SessionScope
from briefcast.observability import metrics
from briefcast.pipeline.check.gate import GateRules, Verdict, judge, rules_for
from briefcast.pipeline.check.moderation import Moderator
from briefcast.pipeline.copy.model import PlatformCopy
from briefcast.pipeline.copy.rules import full_text
from briefcast.pipeline.copy.variants import keep_variants

STAGE = "check"


@dataclass(frozen=True)
class CheckOutcome:
    decision: str  # "pass" | "regenerate" | "needs_review"
    reasons: list[str]
    outbox_id: int | None = None  # the regenerate event, to relay after commit

    @property
    def passed(self) -> bool:
        return self.decision == "pass"


def _texts(session: Session, run_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    return {post.platform: list(post.copy_variants) for post in posts_repo.of_run(session, run_id)}


def check_copy(
    session_scope: SessionScope,
    run_id: uuid.UUID,
    *,
    floor: float,
    max_regenerations: int,
    moderator: Moderator | None = None,
) -> CheckOutcome | None:
    """Judge the run's copy. None when the run is not at this stage (a late redelivery)."""
    with session_scope() as session:
        run = runs_repo.get(session, run_id, lock=True)
        if run is None or run.status != RunStatus.CHECKING:
            return None
        brief = briefs_repo.get(session, run.brief_id)
        assert brief is not None
        voice = voices.get_by_id(session, brief.brand_voice_id) if brief.brand_voice_id else None
        rules = rules_for(voice, floor)
        variants = _texts(session, run_id)
        runs_repo.start_stage(session, run_id, STAGE)
    verdicts = _judge_all(variants, rules, moderator)  # moderation is remote: no lock held
    with session_scope() as session:
        run = runs_repo.get(session, run_id, lock=True)
        if run is None or run.status != RunStatus.CHECKING:
            return None
        reasons = _apply(session, run_id, variants, verdicts)
        detail: dict[str, Any] = {
            "sentiment": {p: [v.sentiment for v in vs] for p, vs in verdicts.items()},
            "reasons": reasons,
        }
        if not reasons:
            decision, outbox_id = "pass", None
            runs_repo.set_status(session, run_id, RunStatus.RENDERING)
        elif run.regenerations < max_regenerations:
            decision = "regenerate"
            run.regenerations += 1
            run.copy_feedback = reasons
            runs_repo.set_status(session, run_id, RunStatus.GENERATING, "; ".join(reasons))
            # Commit, then send: the rewrite is an outbox event like a new brief.
            outbox_id = outbox_repo.add(session, RUN_SUBMITTED, _run_payload(session, run_id))
        else:
            decision, outbox_id = "needs_review", None
            runs_repo.set_status(session, run_id, RunStatus.NEEDS_REVIEW, "; ".join(reasons))
        outcome = StageOutcome.SUCCEEDED if decision == "pass" else StageOutcome.HALTED
        runs_repo.finish_stage(session, run_id, STAGE, outcome, {**detail, "decision": decision})
        metrics.GATE_DECISIONS.labels(decision).inc()
        return CheckOutcome(decision, reasons, outbox_id)


def _run_payload(session: Session, run_id: uuid.UUID) -> dict[str, Any]:
    return run_event_payload(run_id, [post.id for post in posts_repo.of_run(session, run_id)])


def _judge_all(
    variants: dict[str, list[dict[str, Any]]], rules: GateRules, moderator: Moderator | None
) -> dict[str, list[Verdict]]:
    texts = {
        platform: [full_text(PlatformCopy(platform=platform, **v)) for v in items]
        for platform, items in variants.items()
    }
    flat = [text for items in texts.values() for text in items]
    flags = iter(moderator.flags(flat) if moderator else [[] for _ in flat])
    return {
        platform: [judge(text, rules, next(flags)) for text in items]
        for platform, items in texts.items()
    }


def _apply(
    session: Session,
    run_id: uuid.UUID,
    variants: dict[str, list[dict[str, Any]]],
    verdicts: dict[str, list[Verdict]],
) -> list[str]:
    """Keep the variants that passed (the first becomes the post); return what blocks the run."""
    blocking: list[str] = []
    for post in posts_repo.of_run(session, run_id):
        judged = list(zip(variants[post.platform], verdicts[post.platform], strict=True))
        post.sentiment = judged[0][1].sentiment if judged else None
        passed = [variant for variant, verdict in judged if verdict.passed]
        if not passed:
            reasons = dict.fromkeys(r for _, verdict in judged for r in verdict.reasons)
            blocking += [f"{post.platform}: {reason}" for reason in reasons]
            continue
        keep_variants(post, passed)
    return blocking
