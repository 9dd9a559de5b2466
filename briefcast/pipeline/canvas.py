"""The whole pipeline of one run, in one function.

    generate_copy → check_copy → chord(render_image per post) → schedule_run

The gate may send a run back to generate_copy (a new canvas, through the outbox) or stop it
for review; an approved review resumes it at the chord.

Every task of a run carries its organization's fair-share priority (see
`pipeline/fairness.py`), so a small organization's run is not queued behind a big one's burst.
A campaign's run also names its campaign in the name monitors show (Celery's `shadow`), so
Flower's task list says which campaign each task works for. Every task names its run in its
arguments (the render steps as `run_id=`), so Flower's search finds all of a run's tasks.

Every task also carries the run's trail (request id, run id, campaign id) as message
headers, which `observability/trail.py` binds into each of its log lines.

Publishing is not part of the canvas: the schedule stage gives posts a due time and the
beat-driven dispatcher sends `publish_post` when it comes (no ETA tasks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from celery import Task, chain, chord, group
from celery.canvas import Signature


def build_run_canvas(
    run_id: str,
    post_ids: Sequence[str],
    priority: int = 0,
    campaign: str | None = None,
    trail: Mapping[str, str] | None = None,
) -> Signature:
    from briefcast.pipeline import tasks  # tasks import this module to start runs

    def opts(task: Task[Any, Any]) -> dict[str, Any]:
        return _options(task, priority, campaign, trail)

    return chain(
        tasks.generate_copy.si(run_id).set(**opts(tasks.generate_copy)),
        tasks.check_copy.si(run_id).set(**opts(tasks.check_copy)),
        build_render_canvas(run_id, post_ids, priority, campaign, trail),
    )


def build_render_canvas(
    run_id: str,
    post_ids: Sequence[str],
    priority: int = 0,
    campaign: str | None = None,
    trail: Mapping[str, str] | None = None,
) -> Signature:
    """From rendering on: the tail of a run, and where an approved review resumes it."""
    from briefcast.pipeline import tasks

    render = _options(tasks.render_image, priority, campaign, trail)
    schedule = _options(tasks.schedule_run, priority, campaign, trail)
    return chord(
        group(tasks.render_image.si(post_id, run_id=run_id).set(**render) for post_id in post_ids),
        tasks.schedule_run.si(run_id).set(**schedule),
    )


def _options(
    task: Task[Any, Any],
    priority: int,
    campaign: str | None,
    trail: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    options: dict[str, Any] = {"priority": priority}
    if trail:
        options["headers"] = dict(trail)
    if campaign:
        # Flower's search reads the task's name, args, kwargs and result, not its headers:
        # the campaign's id in the name makes its tasks findable by it.
        campaign_id = (trail or {}).get("campaign_id")
        label = f"{campaign} {campaign_id}" if campaign_id else campaign
        options["shadow"] = f"{task.name} [campaign: {label}]"
    return options
