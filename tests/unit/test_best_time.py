"""publish_at "best": the scorer, the next occurrence across DST, and the brief's schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from briefcast.api.schemas.briefs import BriefIn
from briefcast.api.schemas.campaigns import BriefTemplateIn
from briefcast.pipeline.analytics import best_time
from briefcast.pipeline.analytics.best_time import (
    DEFAULT_PROFILE,
    PRIOR_POSTS,
    choose,
    next_occurrence,
    score_cells,
)
from briefcast.pipeline.analytics.queries import Row

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY, TUESDAY, WEDNESDAY, SUNDAY = 0, 1, 2, 6


def row(weekday: int, hour: int, posts: int, rate: float | None) -> Row:
    return Row(key={"weekday": weekday, "hour": hour}, posts=posts, engagement_rate=rate)


def every_cell(posts: int, rate: float, **special: float) -> list[Row]:
    """`posts` posts in every weekday x hour cell at `rate`; c<weekday>_<hour>=rate overrides."""
    out = []
    for weekday in range(7):
        for hour in range(24):
            out.append(row(weekday, hour, posts, special.get(f"c{weekday}_{hour}", rate)))
    return out


# --- the prior ------------------------------------------------------------------------------


def test_the_profile_averages_one_and_prefers_working_day_mornings_and_evenings() -> None:
    assert len(DEFAULT_PROFILE) == 7 * 24
    assert sum(DEFAULT_PROFILE.values()) / len(DEFAULT_PROFILE) == pytest.approx(1.0)
    top = max(DEFAULT_PROFILE.values())
    best = sorted(cell for cell, value in DEFAULT_PROFILE.items() if value == top)
    assert best == [(TUESDAY, 9), (TUESDAY, 18), (WEDNESDAY, 9), (WEDNESDAY, 18)]
    assert DEFAULT_PROFILE[(SUNDAY, 3)] < DEFAULT_PROFILE[(SUNDAY, 12)] < top
    # A preference, not a forecast: at most about 20 % either side of the average.
    assert min(DEFAULT_PROFILE.values()) >= 0.8 and top <= 1.2


def test_without_data_the_prior_alone_decides() -> None:
    # A Monday noon: the first of the profile's best cells to come round is Tuesday 09:00.
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    chosen = choose([], "UTC", now)
    assert (chosen.weekday, chosen.hour) == (TUESDAY, 9)
    assert chosen.at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert chosen.reason == (
        "Tuesday 09:00 UTC: from the default profile: fewer than 5 posts of your own at this "
        "hour yet (0 of 0 in the last 90 days)"
    )


def test_rows_without_an_engagement_rate_count_as_no_data() -> None:
    cells = score_cells([row(SUNDAY, 3, 40, None)])
    sunday_3 = next(c for c in cells if (c.weekday, c.hour) == (SUNDAY, 3))
    assert sunday_3.posts == 0 and sunday_3.rate is None
    assert sunday_3.score == pytest.approx(DEFAULT_PROFILE[(SUNDAY, 3)])


# --- data against the prior -----------------------------------------------------------------


def test_data_outweighs_the_prior_as_posts_grow() -> None:
    """Sunday 03:00, the profile's near-worst cell, engages 1.5 times better than the rest:
    with a post or two per cell the prior still wins; with enough, the data does."""
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    winners = {}
    for posts in (1, 2, 5, 20, 60):
        rows = every_cell(posts, 0.02, c6_3=0.03)
        chosen = choose(rows, "UTC", now)
        winners[posts] = (chosen.weekday, chosen.hour)
    assert winners[1] == (TUESDAY, 9)
    assert winners[2] == (TUESDAY, 9)
    assert winners[20] == (SUNDAY, 3)
    assert winners[60] == (SUNDAY, 3)
    # And the Sunday cell's score rises monotonically with its posts.
    scores = [
        next(
            c.score
            for c in score_cells(every_cell(n, 0.02, c6_3=0.03))
            if c.weekday == 6 and c.hour == 3
        )
        for n in (1, 2, 5, 20, 60)
    ]
    assert scores == sorted(scores)


def test_a_cell_with_enough_posts_of_its_own_gives_the_data_reason() -> None:
    rows = [row(SUNDAY, 3, 12, 0.041), row(MONDAY, 10, 30, 0.02)]
    chosen = choose(rows, "Europe/Berlin", datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "linkedin")
    assert (chosen.weekday, chosen.hour) == (SUNDAY, 3)
    average = (12 * 0.041 + 30 * 0.02) / 42
    assert chosen.reason == (
        "Sunday 03:00 Europe/Berlin: best LinkedIn engagement of your last 90 days "
        f"(12 posts, 4.1 % vs {average * 100:.1f} % average)"
    )
    assert chosen.at == datetime(2026, 12, 6, 3, 0, tzinfo=BERLIN)


def test_few_posts_of_its_own_are_shrunk_towards_the_prior() -> None:
    # Two great Sunday-night posts are not enough against the profile's shape.
    rows = [row(SUNDAY, 3, 2, 0.05), row(TUESDAY, 9, 2, 0.02)]
    cells = {(c.weekday, c.hour): c for c in score_cells(rows)}
    baseline = (2 * 0.05 + 2 * 0.02) / 4
    expected = (2 * 0.05 + PRIOR_POSTS * baseline * DEFAULT_PROFILE[(SUNDAY, 3)]) / (
        2 + PRIOR_POSTS
    )
    assert cells[(SUNDAY, 3)].score == pytest.approx(expected)
    chosen = choose(rows, "UTC", datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    assert (chosen.weekday, chosen.hour) != (SUNDAY, 3)
    assert "from the default profile" in chosen.reason


# --- ties -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Tuesday 08:00: Tuesday 09:00 is the first of the four equal cells to come round.
        (datetime(2026, 12, 1, 8, 0, tzinfo=UTC), datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        # Tuesday 10:00: Tuesday 18:00.
        (datetime(2026, 12, 1, 10, 0, tzinfo=UTC), datetime(2026, 12, 1, 18, 0, tzinfo=UTC)),
        # Wednesday 18:01: next Tuesday 09:00.
        (datetime(2026, 12, 2, 18, 1, tzinfo=UTC), datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),
    ],
)
def test_equal_scores_go_to_the_cell_that_comes_first(now: datetime, expected: datetime) -> None:
    assert choose([], "UTC", now).at == expected


def test_equal_data_ties_go_to_the_sooner_cell_too() -> None:
    # Two cells the profile scores alike, with the same data: the sooner one wins.
    rows = every_cell(50, 0.02, c0_14=0.09, c0_15=0.09)
    assert DEFAULT_PROFILE[(MONDAY, 14)] == DEFAULT_PROFILE[(MONDAY, 15)]
    chosen = choose(rows, "UTC", datetime(2026, 11, 30, 14, 30, tzinfo=UTC))
    assert (chosen.weekday, chosen.hour) == (MONDAY, 15)
    assert chosen.at == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


# --- the next occurrence, DST-safe ------------------------------------------------------------


def test_the_next_18_00_in_berlin_across_spring_forward() -> None:
    # Friday 27 March 2026, 20:00 CET; clocks go forward on Sunday 29 March.
    not_before = datetime(2026, 3, 27, 20, 0, tzinfo=BERLIN)
    at = next_occurrence(MONDAY, 18, BERLIN, not_before)
    assert at.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 30, 18, 0)
    assert at.astimezone(UTC) == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)  # CEST, UTC+2
    # The Friday before was still CET: 18:00 local was 17:00 UTC.
    before = next_occurrence(4, 18, BERLIN, datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN))
    assert before.astimezone(UTC) == datetime(2026, 3, 27, 17, 0, tzinfo=UTC)


def test_the_next_18_00_in_berlin_across_fall_back() -> None:
    # Clocks go back on Sunday 25 October 2026.
    not_before = datetime(2026, 10, 24, 19, 0, tzinfo=BERLIN)
    at = next_occurrence(SUNDAY, 18, BERLIN, not_before)
    assert at.astimezone(UTC) == datetime(2026, 10, 25, 17, 0, tzinfo=UTC)  # CET, UTC+1


def test_an_hour_that_does_not_exist_is_read_as_the_hour_after() -> None:
    at = next_occurrence(SUNDAY, 2, BERLIN, datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN))
    assert at.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST


def test_the_best_cell_through_choose_across_a_dst_change() -> None:
    rows = [row(MONDAY, 18, 30, 0.08), row(TUESDAY, 9, 30, 0.02)]
    chosen = choose(rows, "Europe/Berlin", datetime(2026, 3, 27, 20, 0, tzinfo=BERLIN))
    assert chosen.at == datetime(2026, 3, 30, 18, 0, tzinfo=BERLIN)
    offset = chosen.at.utcoffset()
    assert offset is not None and offset.total_seconds() == 7200
    assert chosen.reason.startswith("Monday 18:00 Europe/Berlin: best engagement")


def test_not_before_an_exact_occurrence_takes_it() -> None:
    at = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
    assert next_occurrence(WEDNESDAY, 18, ZoneInfo("UTC"), at) == at


def test_the_lead_leaves_room_before_publishing() -> None:
    assert best_time.LEAD.total_seconds() > 0


# --- the schemas ----------------------------------------------------------------------------


def brief(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "topic": "Spring launch",
        "key_points": ["A"],
        "platforms": ["linkedin"],
    }
    body.update(overrides)
    return body


def test_a_brief_may_ask_for_the_best_time_in_a_time_zone() -> None:
    parsed = BriefIn.model_validate(brief(publish_at="best", timezone="Europe/Berlin"))
    assert parsed.publish_at == "best" and parsed.timezone == "Europe/Berlin"
    assert BriefIn.model_validate(brief(publish_at="best")).timezone is None


@pytest.mark.parametrize(
    "body",
    [
        brief(publish_at="soon"),
        brief(publish_at="Best"),
        brief(publish_at="best", timezone="Mars/Olympus"),
        brief(publish_at="best", timezone="localtime"),
        brief(publish_at="2026-12-01T09:00:00+01:00", timezone="Europe/Berlin"),
        brief(timezone="UTC"),
    ],
)
def test_other_strings_and_stray_zones_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BriefIn.model_validate(body)


def test_a_campaign_template_may_ask_for_the_best_time() -> None:
    template = BriefTemplateIn.model_validate({"platforms": ["instagram"], "publish_at": "best"})
    assert template.publish_at == "best"
    with pytest.raises(ValidationError):
        BriefTemplateIn.model_validate(
            {"platforms": ["instagram"], "publish_at": "2026-12-01T09:00:00Z"}
        )
