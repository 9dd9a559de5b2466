"""`briefcast report`: the HTML report of an organization's recent posts, written to a file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from briefcast.models.session import worker_session
from briefcast.reports import html
from briefcast.reports.report import gather
from briefcast.settings import get_settings


def write_report(
    organization: str,
    out: Path,
    *,
    days: int = 30,
    timezone: str = "UTC",
    until: datetime | None = None,
) -> Path:
    """Read the database (DATABASE_URL), write the report to `out`, return its path."""
    with worker_session() as session:
        report = gather(
            session,
            organization,
            until=until or datetime.now(UTC),
            days=days,
            timezone=timezone,
            media_root=get_settings().media_root,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html.render(report), encoding="utf-8")
    return out
