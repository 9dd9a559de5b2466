"""The whole pipeline of one run, in one function.

    generate_copy → check_copy → chord(render_image per post) → schedule_run

The gate may send a run back to generate_copy (a new canvas, through the outbox) or stop it
for review; an approved review resumes it at the chord.

Publishing is not part of the canvas: the schedule stage gives posts a due time and the
beat-driven dispatcher sends `publish_post` when it comes (no ETA tasks).
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import chain, chord, group
from celery.canvas import Signature


def build_run_canvas(run_id: str, post_ids: Sequence[str]) -> Signature:
    from briefcast.pipeline import tasks  # tasks import this module to start runs

    return chain(
        tasks.generate_copy.si(run_id),
        tasks.check_copy.si(run_id),
        build_render_canvas(run_id, post_ids),
    )


def build_render_canvas(run_id: str, post_ids: Sequence[str]) -> Signature:
    """From rendering on: the tail of a run, and where an approved review resumes it."""
    from briefcast.pipeline import tasks

    return chord(
        group(tasks.render_image.si(post_id) for post_id in post_ids),
        tasks.schedule_run.si(run_id),
    )
