"""The report as one self-contained HTML file: CSS inline, every image a data: URI, nothing
fetched from anywhere, so it can be mailed or archived as it is. Built with the standard
library; every piece of text from the database goes through `html.escape`."""

from __future__ import annotations

import base64
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from briefcast.reports.report import CampaignEntry, PostEntry, Report
from briefcast.reports.summary import Summary, Trend, describe_change

CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px auto;
       max-width: 1100px; color: #222; }
h1 { margin-bottom: 4px; } .period { color: #555; margin-top: 0; }
section { margin: 28px 0; } h2 { border-bottom: 2px solid #2e7d32; padding-bottom: 4px; }
.summary li { margin: 4px 0; } .post { border: 1px solid #ddd; border-radius: 6px;
       padding: 12px 16px; margin: 16px 0; }
.post-head { color: #555; font-size: 14px; } .post-body { display: flex; gap: 16px; }
.post-body img.photo { width: 240px; height: auto; border-radius: 4px; }
.caption { white-space: pre-wrap; font-size: 14px; flex: 1; }
img.chart { max-width: 100%; height: auto; }
"""


def data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _img(data: bytes, media_type: str, alt: str, css_class: str) -> str:
    return f'<img class="{css_class}" src="{data_uri(data, media_type)}" alt="{escape(alt)}">'


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.2f}%"


def _post_label(
    entry_or_key: dict[str, str | int | None], tz: ZoneInfo, headline: str | None = None
) -> str:
    published = entry_or_key.get("published_at")
    when = (
        datetime.fromisoformat(published).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        if isinstance(published, str)
        else "unpublished"
    )
    named = f' "{headline}"' if headline else ""
    return f"{entry_or_key.get('platform')} post{named} of {when}"


def _label(
    key: dict[str, str | int | None], tz: ZoneInfo, headlines: dict[object, str | None]
) -> str:
    return _post_label(key, tz, headlines.get(key.get("post_id")))


def _trend_line(label: str, trend: Trend, fmt: str) -> str:
    current = "n/a" if trend.current is None else format(trend.current, fmt)
    return f"<li>{escape(label)}: {current} ({escape(describe_change(trend))})</li>"


def _summary(summary: Summary, tz: ZoneInfo, headlines: dict[object, str | None]) -> str:
    items = [f"<li>Posts published in the period: {summary.posts}</li>"]
    if summary.best is not None:
        items.append(
            f"<li>Best post: {escape(_label(summary.best.key, tz, headlines))}, engagement rate "
            f"{_pct(summary.best.engagement_rate)}</li>"
        )
    else:
        items.append("<li>Best post: no post has an engagement rate yet</li>")
    if summary.worst is not None:
        items.append(
            f"<li>Worst post: {escape(_label(summary.worst.key, tz, headlines))}, engagement rate "
            f"{_pct(summary.worst.engagement_rate)}</li>"
        )
    rate = summary.mean_rate
    percent = Trend(
        None if rate.current is None else rate.current * 100,
        None if rate.previous is None else rate.previous * 100,
    )
    items.append(_trend_line("Mean engagement rate (%)", percent, ".2f"))
    for metric, trend in summary.audience.items():
        items.append(_trend_line(f"Total {metric}", trend, ",.0f"))
    return '<ul class="summary">' + "".join(items) + "</ul>"


def _campaign(entry: CampaignEntry) -> str:
    return (
        f"<h3>{escape(entry.name)} ({entry.posts} post{'s' if entry.posts != 1 else ''})</h3>"
        + _img(entry.chart_png, "image/png", f"{entry.name}: engagement by occurrence", "chart")
    )


def _post(entry: PostEntry, tz: ZoneInfo) -> str:
    label = _post_label(entry.row.key, tz)
    photo = (
        _img(entry.image_jpeg, "image/jpeg", f"image of the {label}", "photo")
        if entry.image_jpeg is not None
        else f"<p>{escape(entry.image_note or 'no image')}</p>"
    )
    title = f"<strong>{escape(entry.headline)}</strong><br>" if entry.headline else ""
    return (
        '<div class="post">'
        f'<div class="post-head">{escape(label)} · engagement rate '
        f"{_pct(entry.row.engagement_rate)} · high intent {entry.row.high_intent}</div>"
        f'<div class="post-body">{photo}<div class="caption">{title}{escape(entry.caption)}'
        "</div></div>"
        + _img(entry.chart_png, "image/png", f"{label}: metrics over time", "chart")
        + "</div>"
    )


def render(report: Report) -> str:
    tz = ZoneInfo(report.timezone)
    shown = "%Y-%m-%d %H:%M"
    period = (
        f"{report.since.astimezone(tz):{shown}} to {report.until.astimezone(tz):{shown}} "
        f"({report.timezone})"
    )
    headlines: dict[object, str | None] = {
        p.row.key.get("post_id"): p.headline for p in report.posts
    }
    campaigns = "".join(_campaign(c) for c in report.campaigns) or "<p>No campaign posts.</p>"
    posts = "".join(_post(p, tz) for p in report.posts) or "<p>No published posts.</p>"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>Briefcast report: {escape(report.organization)}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>Briefcast report: {escape(report.organization)}</h1>"
        f'<p class="period">{escape(period)}</p>'
        f"<section><h2>Summary</h2>{_summary(report.summary, tz, headlines)}</section>"
        "<section><h2>Best time to post</h2>"
        + _img(report.heatmap_png, "image/png", "engagement rate by weekday and hour", "chart")
        + f"</section><section><h2>Campaigns</h2>{campaigns}</section>"
        f"<section><h2>Posts</h2>{posts}</section>"
        "</body></html>\n"
    )
