"""What Flower gets to see: the tasks of runs, each naming its run; not beat's housekeeping."""

from __future__ import annotations

from celery.canvas import _chain, chord

from briefcast.pipeline import tasks
from briefcast.pipeline.canvas import build_run_canvas
from briefcast.pipeline.celery_app import BEAT_INTERVALS_S, app

RUN = "8f2b7d1c-0000-4000-8000-000000000001"
CAMPAIGN = "8f2b7d1c-0000-4000-8000-0000000000c1"


def test_beats_housekeeping_sends_no_task_events_and_the_pipeline_does() -> None:
    pipeline = {name for name in app.tasks if name.startswith("pipeline.")}
    quiet = {name for name in pipeline if not app.tasks[name].send_events}
    assert quiet == set(BEAT_INTERVALS_S)
    assert {"pipeline.copy.generate", "pipeline.publish.post"} <= pipeline - quiet


def test_tasks_sent_after_the_canvas_name_their_run_and_campaign_as_kwargs() -> None:
    trail = {"request_id": "req-1", "run_id": RUN, "campaign_id": CAMPAIGN}
    assert tasks._monitor_kwargs(trail) == {"run_id": RUN, "campaign_id": CAMPAIGN}
    assert tasks._monitor_kwargs({"run_id": RUN}) == {"run_id": RUN}
    assert tasks._monitor_kwargs(None) == {}


def test_a_campaigns_canvas_tasks_carry_its_id_in_the_name_flower_searches() -> None:
    trail = {"run_id": RUN, "campaign_id": CAMPAIGN}
    canvas = build_run_canvas(RUN, ["p1"], campaign="Weekly tips", trail=trail)
    assert isinstance(canvas, _chain)
    generate, check, fan_out = canvas.tasks
    assert isinstance(fan_out, chord)
    steps = [generate, check, *fan_out.tasks, fan_out.body]
    assert [step.options["shadow"] for step in steps] == [
        f"{step.task} [campaign: Weekly tips {CAMPAIGN}]" for step in steps
    ]
