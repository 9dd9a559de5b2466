"""The whole pipeline of one run, in one function.

    generate_copy → check_copy → chord(render_image per post) → schedule_run

The gate may send a run back to generate_copy (a new canvas, through the outbox) or stop it
for review; an approved review resumes it at the chord.

Every task of a run carries its organization's fair-share priority (see
`pipeline/fairness.py`), so a small organization's run is not queued behind a big one's burst.

Publishing is not part of the canvas: the schedule stage gives posts a due time and the
beat-driven dispatcher sends `publish_post` when it comes (no ETA tasks).
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import chain, chord, group
from celery.canvas import Signature


def build_run_canvas(run_id: str, post_ids: Sequence[str], priority: int = 0) -> Signature:
    from briefcast.pipeline import tasks  # tasks import this module to start runs

    return chain(
        tasks.generate_copy.si(run_id).set(priority=priority),
        tasks.check_copy.si(run_id).set(priority=priority),
        build_render_canvas(run_id, post_ids, priority),
    )


def build_render_canvas(run_id: str, post_ids: Sequence[str], priority: int = 0) -> Signature:
    """From rendering on: the tail of a run, and where an approved review resumes it."""
    from briefcast.pipeline import tasks

    return chord(
        group(tasks.render_image.si(post_id).set(priority=priority) for post_id in post_ids),
        tasks.schedule_run.si(run_id).set(priority=priority),
    )
