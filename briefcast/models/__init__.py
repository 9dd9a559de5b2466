"""SQLAlchemy models, repositories (all SQL lives here) and session factories."""

from briefcast.models.accounts import AccountStatus, PlatformAccount
from briefcast.models.base import Base
from briefcast.models.campaigns import (
    Campaign,
    CampaignItem,
    CampaignOccurrence,
    CampaignStatus,
    ContentMode,
    OccurrenceStatus,
)
from briefcast.models.media import MediaUpload
from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import (
    AttemptOutcome,
    MetricSnapshot,
    Platform,
    Post,
    PostAttempt,
    PostStatus,
)
from briefcast.models.runs import Brief, Run, RunStatus, StageEvent, StageOutcome
from briefcast.models.tenancy import BrandVoice, Organization
from briefcast.models.usage import ModelUsage

__all__ = [
    "AccountStatus",
    "AttemptOutcome",
    "Base",
    "BrandVoice",
    "Brief",
    "Campaign",
    "CampaignItem",
    "CampaignOccurrence",
    "CampaignStatus",
    "ContentMode",
    "MediaUpload",
    "MetricSnapshot",
    "ModelUsage",
    "OccurrenceStatus",
    "Organization",
    "OutboxMessage",
    "Platform",
    "PlatformAccount",
    "Post",
    "PostAttempt",
    "PostStatus",
    "Run",
    "RunStatus",
    "StageEvent",
    "StageOutcome",
]
