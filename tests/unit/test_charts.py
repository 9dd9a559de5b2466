"""Charts and the report's summary, on hand-built query rows (no database)."""

from __future__ import annotations

import io
import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from briefcast.pipeline.analytics import measures
from briefcast.pipeline.analytics.queries import PostSeries, Reading, Row
from briefcast.reports import charts
from briefcast.reports.summary import Trend, describe_change, summarise

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday


def _series(
    platform: str = "instagram", offsets: tuple[int, ...] = (900, 3600, 21600)
) -> PostSeries:
    readings = []
    for i, offset in enumerate(offsets, start=1):
        metrics = {name: 10 * i * (n + 1) for n, name in enumerate(measures.METRICS[platform])}
        readings.append(
            Reading(
                offset_s=offset,
                collected_at=T0 + timedelta(seconds=offset),
                metrics=metrics,
                deltas={},
                engagement_rate=measures.engagement_rate(platform, metrics),
            )
        )
    return PostSeries(uuid.uuid4(), platform, T0, uuid.uuid4(), None, readings)


def _post_row(platform: str, day: int, rate: float | None, **metrics: int) -> Row:
    key: dict[str, str | int | None] = {
        "post_id": str(uuid.uuid4()),
        "platform": platform,
        "published_at": (T0 + timedelta(days=day)).isoformat(),
        "run_id": str(uuid.uuid4()),
        "campaign_id": None,
    }
    return Row(key=key, posts=1, metrics=metrics, engagement_rate=rate)


def _cell(weekday: int, hour: int, rate: float | None, posts: int = 1) -> Row:
    return Row(key={"weekday": weekday, "hour": hour}, posts=posts, engagement_rate=rate)


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image.convert("RGB")


def _svg(data: bytes) -> ET.Element:
    root = ET.fromstring(data)  # noqa: S314 (our own renderer's output, not untrusted)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


CHARTS: dict[str, tuple[Callable[[charts.ChartFormat], bytes], Literal["line", "heatmap"]]] = {
    "post": (lambda fmt: charts.post_chart(_series(), fmt), "line"),
    "post_linkedin": (lambda fmt: charts.post_chart(_series("linkedin"), fmt), "line"),
    "post_empty": (lambda fmt: charts.post_chart(_series(offsets=()), fmt), "line"),
    "campaign": (
        lambda fmt: charts.campaign_chart(
            [_post_row("instagram", d, 0.01 * d) for d in range(4)], fmt, "Tips"
        ),
        "line",
    ),
    "campaign_empty": (lambda fmt: charts.campaign_chart([], fmt, "Tips"), "line"),
    "heatmap": (lambda fmt: charts.best_time_heatmap([_cell(2, 14, 0.05)], "UTC", fmt), "heatmap"),
    "heatmap_empty": (lambda fmt: charts.best_time_heatmap([], "Europe/Berlin", fmt), "heatmap"),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_chart_renders_a_png_of_its_size_and_a_well_formed_svg(name: str) -> None:
    draw, kind = CHARTS[name]
    assert _png(draw("png")).size == charts.pixel_size(kind)
    root = _svg(draw("svg"))
    assert root.attrib["width"].endswith("pt")


def test_the_same_data_gives_the_same_bytes() -> None:
    rows = [_cell(0, 9, 0.02), _cell(4, 18, 0.07)]
    for fmt in ("png", "svg"):
        assert charts.best_time_heatmap(rows, "UTC", fmt) == charts.best_time_heatmap(
            rows, "UTC", fmt
        )
    svg = charts.post_chart(_series(), "svg")
    assert b"<dc:date>" not in svg


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown chart format"):
        charts.post_chart(_series(), "gif")  # type: ignore[arg-type]  # wrong on purpose


def test_the_best_cell_is_the_highest_rate_and_ties_go_to_more_posts() -> None:
    rows = [_cell(0, 9, 0.02), _cell(4, 18, 0.07), _cell(6, 7, None, posts=3), _cell(1, 3, 0.05)]
    assert charts.best_cell(rows) == (4, 18)
    assert charts.best_cell([_cell(1, 1, 0.05), _cell(3, 20, 0.05, posts=2)]) == (3, 20)
    assert charts.best_cell([_cell(2, 2, None)]) is None
    grid = charts.heatmap_grid(rows)
    assert grid[4][18] == pytest.approx(7.0)
    assert math.isnan(grid[6][7])  # posts without an audience leave the cell empty


def _pixel(figure: Figure, image: Image.Image, x: float, y: float) -> tuple[int, ...]:
    """The PNG's pixel at data point (x, y) of the figure's first axes."""
    axes = figure.axes[0]
    px, py = axes.transData.transform((x, y))
    pixel = image.getpixel((int(px), image.height - int(py)))
    assert isinstance(pixel, tuple)  # an RGB image's pixel
    return pixel


def test_the_heatmap_outlines_the_best_cell_and_leaves_empty_cells_empty() -> None:
    rows = [_cell(0, 9, 0.02), _cell(4, 18, 0.07), _cell(2, 14, 0.04)]
    figure = charts.heatmap_figure(rows, "Europe/Berlin")
    image = _png(charts.render(figure, "png"))
    outlines = [p for p in figure.axes[0].patches if isinstance(p, Rectangle) and not p.get_fill()]
    marked = [p.get_xy() for p in outlines if p.get_edgecolor()[:3] == to_rgb(charts.BEST_CELL)]
    assert marked == [(17.5, 3.5)]  # hour 18, Friday
    red = tuple(round(c * 255) for c in to_rgb(charts.BEST_CELL))
    edge = _pixel(figure, image, 17.5, 4.0)  # the left edge of the best cell
    assert max(abs(a - b) for a, b in zip(edge, red, strict=True)) < 40
    filled = _pixel(figure, image, 14, 2)
    assert filled[1] > filled[0] + 20  # a colour of the green scale
    for hour, weekday in ((3, 5), (22, 6)):  # no posts there: light grey background
        r, g, b = _pixel(figure, image, hour + 0.3, weekday + 0.3)
        assert min(r, g, b) > 200 and max(r, g, b) - min(r, g, b) < 10
    assert "Fri 18:00" in figure.axes[0].get_title()


def test_the_post_chart_has_a_line_per_metric_in_hours_since_publishing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[Figure] = []
    original = charts.render

    def keep(figure: Figure, fmt: charts.ChartFormat) -> bytes:
        drawn.append(figure)
        return original(figure, fmt)

    monkeypatch.setattr(charts, "render", keep)
    charts.post_chart(_series("linkedin"), "png")
    axes = drawn[0].axes[0]
    labels = [line.get_label() for line in axes.get_lines()]
    assert labels == [name.replace("_", " ") for name in measures.METRICS["linkedin"]]
    assert np.asarray(axes.get_lines()[0].get_xdata()).tolist() == [0.25, 1.0, 6.0]
    assert axes.get_xlabel() == "hours since publishing"


# ---- the summary ----------------------------------------------------------------------------


def test_the_summary_picks_the_best_and_worst_post_by_engagement_rate() -> None:
    best = _post_row("linkedin", 1, 0.09, impressions=1000)
    worst = _post_row("instagram", 2, 0.01, reach=500)
    rows = [_post_row("instagram", 0, 0.04, reach=300), best, worst, _post_row("linkedin", 3, None)]
    summary = summarise(rows, [])
    assert summary.posts == 4
    assert summary.best is best and summary.worst is worst
    assert summary.mean_rate.current == pytest.approx((0.04 + 0.09 + 0.01) / 3)
    assert summary.audience["reach"].current == 800
    assert summary.audience["impressions"].current == 1000
    assert describe_change(summary.mean_rate) == "no previous data"


def test_the_summary_compares_with_the_previous_period() -> None:
    current = [
        _post_row("instagram", 8, 0.06, reach=1500),
        _post_row("instagram", 9, 0.04, reach=500),
    ]
    previous = [
        _post_row("instagram", 1, 0.04, reach=800),
        _post_row("linkedin", 2, None, impressions=50),
    ]
    summary = summarise(current, previous)
    assert summary.mean_rate.change_pct == pytest.approx(25.0)  # 0.05 against 0.04
    assert summary.audience["reach"].change_pct == pytest.approx(150.0)  # 2000 against 800
    assert summary.audience["impressions"] == Trend(None, 50.0)
    assert describe_change(summary.audience["reach"]) == "+150.0% against the previous period"
    assert describe_change(summary.audience["impressions"]) == "no data in this period"


def test_one_rated_post_is_the_best_and_there_is_no_worst() -> None:
    only = _post_row("instagram", 0, 0.03, reach=10)
    summary = summarise([only], [_post_row("instagram", 0, None, reach=0)])
    assert summary.best is only and summary.worst is None
    assert describe_change(summary.mean_rate) == "no previous data"
    assert describe_change(summary.audience["reach"]) == "previous period was 0"
    assert summarise([], []).best is None
