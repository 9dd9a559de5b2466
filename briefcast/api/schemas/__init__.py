"""Request and response bodies, one module per resource."""

from briefcast.api.schemas.briefs import BriefIn
from briefcast.api.schemas.runs import (
    BriefSummary,
    HealthOut,
    PostOut,
    RunAccepted,
    RunLinks,
    RunOut,
    StageOut,
)

__all__ = [
    "BriefIn",
    "BriefSummary",
    "HealthOut",
    "PostOut",
    "RunAccepted",
    "RunLinks",
    "RunOut",
    "StageOut",
]
