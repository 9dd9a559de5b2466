"""The run canvas, inspected as Signature objects (no broker involved)."""

from __future__ import annotations

import pytest
from celery.canvas import Signature, _chain, chord

from briefcast.pipeline.canvas import build_run_canvas
from briefcast.pipeline.fairness import priority_for_backlog

RUN = "8f2b7d1c-0000-4000-8000-000000000001"
POSTS = [
    "8f2b7d1c-0000-4000-8000-0000000000a1",
    "8f2b7d1c-0000-4000-8000-0000000000a2",
]


def parts(canvas: Signature) -> tuple[Signature, Signature, chord]:
    assert isinstance(canvas, _chain)
    tasks = list(canvas.tasks)
    assert len(tasks) == 3
    generate, check, fan_out = tasks
    assert isinstance(fan_out, chord)  # celery's `chord` is its `_chord` class
    return generate, check, fan_out


def test_chain_of_copy_check_then_chord() -> None:
    generate, check, _ = parts(build_run_canvas(RUN, POSTS))
    assert generate.task == "pipeline.copy.generate"
    assert tuple(generate.args) == (RUN,)
    assert check.task == "pipeline.check.copy"
    assert tuple(check.args) == (RUN,)


@pytest.mark.parametrize("post_ids", [POSTS[:1], POSTS, [f"post-{i}" for i in range(5)]])
def test_chord_renders_one_image_per_post_then_schedules(post_ids: list[str]) -> None:
    _, _, fan_out = parts(build_run_canvas(RUN, post_ids))
    header = list(fan_out.tasks)
    assert [s.task for s in header] == ["pipeline.render.image"] * len(post_ids)
    assert [tuple(s.args) for s in header] == [(p,) for p in post_ids]
    assert fan_out.body.task == "pipeline.schedule.run"
    assert tuple(fan_out.body.args) == (RUN,)


def test_every_step_is_immutable() -> None:
    # Immutable signatures (.si) ignore the parent's result: each task re-reads state by id.
    generate, check, fan_out = parts(build_run_canvas(RUN, POSTS))
    steps = [generate, check, *fan_out.tasks, fan_out.body]
    assert all(step.immutable for step in steps)
    # The only keyword: the run's id on each render step, for monitors (Flower searches it).
    assert [dict(step.kwargs) for step in steps] == [
        {},
        {},
        *({"run_id": RUN} for _ in POSTS),
        {},
    ]


def test_header_can_be_read_more_than_once() -> None:
    _, _, fan_out = parts(build_run_canvas(RUN, POSTS))
    # The header is built from a generator; it must still be iterable more than once
    # (a plain generator would be empty the second time).
    assert len(list(fan_out.tasks)) == len(list(fan_out.tasks)) == len(POSTS)


def test_signatures_survive_json_round_trip() -> None:
    """The canvas is sent as JSON: rebuilding it from its dict form keeps names and args."""
    import json

    canvas = build_run_canvas(RUN, POSTS)
    rebuilt = Signature.from_dict(json.loads(json.dumps(canvas)))
    generate, check, fan_out = parts(rebuilt)
    assert (generate.task, check.task) == ("pipeline.copy.generate", "pipeline.check.copy")
    assert [tuple(s.args) for s in fan_out.tasks] == [(p,) for p in POSTS]
    assert fan_out.body.task == "pipeline.schedule.run"


def test_canvas_tasks_are_registered_pipeline_tasks() -> None:
    from briefcast.pipeline.celery_app import app

    generate, check, fan_out = parts(build_run_canvas(RUN, POSTS))
    for step in (generate, check, *fan_out.tasks, fan_out.body):
        assert step.task in app.tasks
        assert step.app is app or step.type.app is app


def test_every_task_of_a_run_carries_its_fair_share_priority() -> None:
    generate, check, fan_out = parts(build_run_canvas(RUN, POSTS, priority=6))
    steps = [generate, check, *fan_out.tasks, fan_out.body]
    assert [step.options.get("priority") for step in steps] == [6] * len(steps)


@pytest.mark.parametrize(
    ("backlog", "priority"),
    [(0, 0), (1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (9, 4), (50, 6), (256, 8), (10**6, 9)],
)
def test_each_doubling_of_a_backlog_costs_one_priority_step(backlog: int, priority: int) -> None:
    assert priority_for_backlog(backlog) == priority


def test_a_campaigns_tasks_name_their_campaign_for_monitors_and_others_do_not() -> None:
    generate, check, fan_out = parts(build_run_canvas(RUN, POSTS, campaign="Weekly tips"))
    steps = [generate, check, *fan_out.tasks, fan_out.body]
    assert [step.options["shadow"] for step in steps] == [
        f"{step.task} [campaign: Weekly tips]" for step in steps
    ]
    plain = parts(build_run_canvas(RUN, POSTS))
    assert all("shadow" not in step.options for step in plain[:2])
