"""Copy stage: ask the copy chain for every platform's variants and store them on the posts.

Three short transactions around the model call, so no row lock is held while a remote model
thinks: claim the stage (and check the budget), write (no transaction open), store the copy
with its usage and cost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from briefcast.models.posts import PostStatus
from briefcast.models.repositories import briefs as briefs_repo
from briefcast.models.repositories import campaigns as campaigns_repo
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.repositories import usage as usage_repo
from briefcast.models.repositories import voices
from briefcast.models.runs import RunStatus, StageOutcome
from briefcast.models.session import SessionScope
from briefcast.models.tenancy import BrandVoice
from briefcast.models.usage import ModelUsage
from briefcast.observability import metrics
from briefcast.pipeline.copy.costs import cost_usd
from briefcast.pipeline.copy.model import CopyBrief, CopyModel, CopyResult, VoiceRules
from briefcast.pipeline.copy.offline import OfflineCopywriter
from briefcast.pipeline.copy.variants import keep_variants

STAGE = "copy"
BUDGET_SPENT = "the organization's monthly model budget is spent"
RECENT_POSTS = 5  # a campaign's latest captions the model sees, so it does not repeat itself


@dataclass(frozen=True)
class Claimed:
    brief: CopyBrief
    organization_id: uuid.UUID
    over_budget: bool


def voice_rules(voice: BrandVoice) -> VoiceRules:
    return VoiceRules(
        tone=voice.tone,
        audience=voice.audience,
        use_words=list(voice.use_words),
        avoid_words=list(voice.avoid_words),
        competitors=list(voice.competitors),
        emoji_policy=voice.emoji_policy,
        hashtag_sets=list(voice.hashtag_sets),
        language=voice.language,
        example_posts=list(voice.example_posts),
        version=voice.version,
    )


def _claim(session: Session, run_id: uuid.UUID) -> Claimed | None:
    run = runs_repo.get(session, run_id, lock=True)
    if run is None or run.status not in (RunStatus.ACCEPTED, RunStatus.GENERATING):
        return None
    brief = briefs_repo.get(session, run.brief_id)
    assert brief is not None  # a run always has its brief (FK, cascade)
    voice = voices.get_by_id(session, brief.brand_voice_id) if brief.brand_voice_id else None
    runs_repo.start_stage(session, run_id, STAGE)
    runs_repo.set_status(session, run_id, RunStatus.GENERATING)
    left = usage_repo.budget_left(session, run.organization_id)
    return Claimed(
        brief=CopyBrief(
            topic=brief.topic,
            key_points=list(brief.key_points),
            brand_voice=brief.brand_voice,
            audience=brief.audience,
            platforms=list(brief.platforms),
            variants=brief.variants,
            voice=voice_rules(voice) if voice else None,
            feedback=list(run.copy_feedback),
            recent_posts=(
                campaigns_repo.recent_captions(session, brief.campaign_id, run_id, RECENT_POSTS)
                if brief.campaign_id
                else []
            ),
        ),
        organization_id=run.organization_id,
        over_budget=left is not None and left <= 0,
    )


def generate_copy(
    session_scope: SessionScope,
    run_id: uuid.UUID,
    model: CopyModel,
    *,
    on_budget_spent: str = "offline",
) -> bool:
    """Write copy for every post of the run. Returns False when the run is not at this stage."""
    with session_scope() as session:
        claimed = _claim(session, run_id)
    if claimed is None:
        return False
    if claimed.over_budget:
        if on_budget_spent == "stop":
            with session_scope() as session:
                runs_repo.set_status(session, run_id, RunStatus.BUDGET_EXHAUSTED, BUDGET_SPENT)
                runs_repo.finish_stage(
                    session, run_id, STAGE, StageOutcome.FAILED, {"reason": BUDGET_SPENT}
                )
            return False
        model = OfflineCopywriter()
    result = model.write(claimed.brief)
    if claimed.over_budget:
        result = CopyResult(result.variants, result.source, result.calls, BUDGET_SPENT)
    with session_scope() as session:
        return _store(session, run_id, claimed.organization_id, result)


def _store(session: Session, run_id: uuid.UUID, org_id: uuid.UUID, result: CopyResult) -> bool:
    run = runs_repo.get(session, run_id, lock=True)
    if run is None or run.status != RunStatus.GENERATING:
        return False  # a duplicate delivery finished first
    for post in posts_repo.of_run(session, run_id):
        variants = result.for_platform(post.platform)
        keep_variants(post, [v.model_dump(exclude={"platform"}) for v in variants])
        post.copy_source = result.source
        post.status = PostStatus.PENDING
    run.copy_source = result.source
    run.copy_fallback_reason = result.fallback_reason
    usage = [
        ModelUsage(
            organization_id=org_id,
            run_id=run_id,
            stage=STAGE,
            model=call.model,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            cached=call.cached,
            cost_usd=0
            if call.cached
            else cost_usd(call.model, call.prompt_tokens, call.completion_tokens),
        )
        for call in result.calls
    ]
    usage_repo.record(session, usage)
    metrics.record_model_usage(usage)
    runs_repo.set_status(session, run_id, RunStatus.CHECKING)
    detail = {
        "source": result.source,
        "fallback_reason": result.fallback_reason,
        "usage": result.usage,
        "attempt": run.regenerations + 1,
    }
    runs_repo.finish_stage(session, run_id, STAGE, StageOutcome.SUCCEEDED, detail)
    return True
