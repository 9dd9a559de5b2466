"""The outbox's events: each topic's name and the payload its senders and tasks agree on.

A row's topic picks the task that handles it (`pipeline.outbox.service.EVENT_TASKS`); its
payload becomes that task's keyword arguments, so every sender builds it here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

RUN_SUBMITTED = "run.submitted"  # start (or restart) the run's canvas
RUN_APPROVED = "run.approved"  # a person approved the copy: render, schedule, publish
# Look at one campaign now (created, edited, resumed, given items), rather than at the
# materializer's next beat tick.
CAMPAIGN_CHANGED = "campaign.changed"


def run_event_payload(
    run_id: uuid.UUID, post_ids: Sequence[uuid.UUID | str], request_id: str | None = None
) -> dict[str, Any]:
    """The payload of both run events. The request id, when there is one, travels as a
    message header (`outbox.service.send`), not as an argument."""
    payload: dict[str, Any] = {"run_id": str(run_id), "post_ids": [str(p) for p in post_ids]}
    if request_id is not None:
        payload["request_id"] = request_id
    return payload


def campaign_event_payload(campaign_id: uuid.UUID) -> dict[str, str]:
    return {"campaign_id": str(campaign_id)}
