"""Charts of the analytics readings, as PNG or SVG bytes.

Pure functions over the query contract's dataclasses (`Row`, `PostSeries`): fetching the data
is the caller's business. Each chart draws on its own `matplotlib.figure.Figure` with an Agg
canvas and never touches pyplot, whose global figure registry is not thread-safe; the API
renders in a thread pool (https://matplotlib.org/stable/gallery/user_interfaces/web_application_server_sgskip.html).

The output is deterministic for the same data and matplotlib version: fixed size and dpi, no
date in the metadata, and a fixed salt for the ids SVG elements get.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib's: no display, no GUI toolkit
# SVG element ids are hashed with this salt (random per process by default); set once here,
# never changed, so concurrent renders read the same value.
matplotlib.rcParams["svg.hashsalt"] = "briefcast"

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from briefcast.pipeline.analytics import measures  # noqa: E402
from briefcast.pipeline.analytics.queries import PostSeries, Row  # noqa: E402

ChartFormat = Literal["png", "svg"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}
DPI = 100
# Inches; at DPI these are the PNGs' pixel sizes (900 x 450 and 1000 x 420).
LINE_SIZE = (9.0, 4.5)
HEATMAP_SIZE = (10.0, 4.2)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EMPTY_CELL = "#f2f2f2"
BEST_CELL = "#d62728"
# Time since publishing on the x axis, in the largest unit that keeps the numbers readable.
_UNITS = ((86400 * 2, 86400, "days"), (3600 * 2, 3600, "hours"), (120, 60, "minutes"))


def pixel_size(kind: Literal["line", "heatmap"]) -> tuple[int, int]:
    """A chart's PNG width and height in pixels."""
    width, height = LINE_SIZE if kind == "line" else HEATMAP_SIZE
    return round(width * DPI), round(height * DPI)


def render(figure: Figure, fmt: ChartFormat) -> bytes:
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"unknown chart format {fmt!r}")
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    # No creation date and no software version in the file: same data, same bytes.
    metadata: dict[str, str | None] = (
        {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
    )
    figure.savefig(out, format=fmt, dpi=DPI, metadata=metadata)
    return out.getvalue()


def _no_data(axes: Axes, message: str) -> None:
    axes.text(
        0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="#666666"
    )


def _time_unit(max_offset_s: int) -> tuple[int, str]:
    for threshold, seconds, name in _UNITS:
        if max_offset_s >= threshold:
            return seconds, name
    return 1, "seconds"


def post_chart(series: PostSeries, fmt: ChartFormat, title: str | None = None) -> bytes:
    """Each of the post's metrics over time: one line per normalised metric, x = time since
    publishing (the snapshot's offset)."""
    figure = Figure(figsize=LINE_SIZE, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    readings = sorted(series.readings, key=lambda r: r.offset_s)
    seconds, unit = _time_unit(max((r.offset_s for r in readings), default=0))
    xs = [r.offset_s / seconds for r in readings]
    drawn = 0
    for name in measures.METRICS.get(series.platform, {}):
        points = [
            (x, r.metrics[name]) for x, r in zip(xs, readings, strict=True) if name in r.metrics
        ]
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", label=name.replace("_", " "))
            drawn += 1
    axes.set_xlabel(f"{unit} since publishing")
    axes.set_ylabel("count")
    axes.set_title(title or f"{series.platform} post {str(series.post_id)[:8]}: metrics over time")
    axes.grid(True, alpha=0.3)
    if drawn:
        axes.legend(loc="upper left", fontsize="small", ncols=2)
        axes.set_xlim(left=0)
        axes.set_ylim(bottom=0)
    else:
        _no_data(axes, "no readings yet")
    return render(figure, fmt)


def _published(row: Row) -> datetime | None:
    value = row.key.get("published_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def campaign_chart(rows: Sequence[Row], fmt: ChartFormat, title: str = "Campaign") -> bytes:
    """Engagement rate of each post (Grouping.POST rows), x = the post's publishing time, one
    line per platform (their rates are defined differently, see `measures`)."""
    figure = Figure(figsize=LINE_SIZE, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    by_platform: dict[str, list[tuple[datetime, float]]] = {}
    for row in rows:
        published = _published(row)
        if published is not None and row.engagement_rate is not None:
            platform = str(row.key.get("platform") or "?")
            by_platform.setdefault(platform, []).append((published, row.engagement_rate * 100))
    for platform in sorted(by_platform):
        points = sorted(by_platform[platform])
        axes.plot(*zip(*points, strict=True), marker="o", label=platform)
    axes.set_title(f"{title}: engagement rate by occurrence")
    axes.set_xlabel("published (UTC)")
    axes.set_ylabel("engagement rate (%)")
    axes.grid(True, alpha=0.3)
    if by_platform:
        # matplotlib ships no annotations for its dates module.
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        axes.set_ylim(bottom=0)
        axes.legend(loc="upper left", fontsize="small")
    else:
        _no_data(axes, "no post with an engagement rate yet")
    return render(figure, fmt)


def best_cell(rows: Sequence[Row]) -> tuple[int, int] | None:
    """(weekday, hour) of the highest engagement rate among Grouping.WEEKDAY_HOUR rows; a tie
    goes to the cell with more posts, then the earlier one in the week."""
    rated = [
        (row.engagement_rate, row.posts, -int(row.key["weekday"] or 0), -int(row.key["hour"] or 0))
        for row in rows
        if row.engagement_rate is not None
    ]
    if not rated:
        return None
    _, _, weekday, hour = max(rated)
    return -weekday, -hour


def heatmap_grid(rows: Sequence[Row]) -> list[list[float]]:
    """7 x 24 engagement rates in percent; NaN where no post has a rate."""
    grid = [[math.nan] * 24 for _ in range(7)]
    for row in rows:
        if row.engagement_rate is not None:
            grid[int(row.key["weekday"] or 0)][int(row.key["hour"] or 0)] = (
                row.engagement_rate * 100
            )
    return grid


def best_time_heatmap(rows: Sequence[Row], timezone: str, fmt: ChartFormat) -> bytes:
    """Engagement rate by publishing weekday x hour in `timezone`; a cell without posts is left
    empty (hatched grey), the best cell is outlined and starred."""
    return render(heatmap_figure(rows, timezone), fmt)


def heatmap_figure(rows: Sequence[Row], timezone: str) -> Figure:
    """The heatmap's figure (cell (weekday, hour) is centred on data point (hour, weekday))."""
    figure = Figure(figsize=HEATMAP_SIZE, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_facecolor(EMPTY_CELL)
    axes.add_patch(
        Rectangle(
            (-0.5, -0.5), 24, 7, facecolor="none", edgecolor="#dddddd", hatch="//", lw=0, zorder=0
        )
    )
    grid = heatmap_grid(rows)
    # NaN cells are transparent, so the hatched background shows through them.
    cmap = ListedColormap(matplotlib.colormaps["YlGn"](range(40, 256))).with_extremes(
        bad=(0, 0, 0, 0)
    )
    image = axes.imshow(grid, cmap=cmap, aspect="auto", interpolation="nearest", zorder=1)
    figure.colorbar(image, ax=axes, label="engagement rate (%)", fraction=0.04)
    best = best_cell(rows)
    if best is not None:
        weekday, hour = best
        axes.add_patch(
            Rectangle(
                (hour - 0.5, weekday - 0.5), 1, 1, fill=False, edgecolor=BEST_CELL, lw=2.5, zorder=2
            )
        )
        axes.text(
            hour, weekday, "★", ha="center", va="center", color=BEST_CELL, fontsize=14, zorder=3
        )
        title = f"Best time to post ({timezone}): {WEEKDAYS[weekday]} {hour:02d}:00"
    else:
        title = f"Best time to post ({timezone}): no data yet"
        _no_data(axes, "no post with an engagement rate yet")
    axes.set_title(title)
    axes.set_xticks(range(24), [f"{h:02d}" for h in range(24)], fontsize="small")
    axes.set_yticks(range(7), WEEKDAYS)
    axes.set_xlabel("hour of publishing")
    return figure
