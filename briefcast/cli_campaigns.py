"""`briefcast campaign show`: a campaign's view from the API, as text a person reads."""

from __future__ import annotations

from typing import Any


def _schedule_line(schedule: dict[str, Any]) -> str:
    if schedule.get("kind") == "slots":
        slots = "; ".join(f"{','.join(s['days'])} {s['time']}" for s in schedule["slots"])
        return f"slot queue: {slots}"
    ends = (
        f", {schedule['count']} times"
        if schedule.get("count")
        else f", until {schedule['until']}"
        if schedule.get("until")
        else ""
    )
    return f"{schedule['rrule']} from {schedule['start']}{ends}"


def describe(view: dict[str, Any]) -> str:
    lines = [
        f"{view['name']}  ({view['id']})",
        f"  status:   {view['status']}",
        f"  schedule: {_schedule_line(view['schedule'])}  [{view['timezone']}]",
        "  next occurrences:",
    ]
    for occurrence in view["next_occurrences"] or [{"at": "none"}]:
        note = (
            f"  skipped: {occurrence['skipped_reason']}" if occurrence.get("skipped_reason") else ""
        )
        lines.append(f"    {occurrence['at']}{note}")
    lines.append("  past occurrences:")
    for occurrence in view["past_occurrences"] or [{"occurs_at": "none yet"}]:
        outcome = occurrence.get("run_status") or occurrence.get("reason") or ""
        status = occurrence.get("status", "")
        lines.append(f"    {occurrence['occurs_at']}  {status:<8} {outcome}")
    totals = view["totals"]
    counted = ", ".join(f"{k} {v}" for k, v in sorted(totals["occurrences"].items())) or "none"
    lines.append(f"  occurrences: {counted}")
    lines.append(f"  items: {totals['items']} ({totals['unused_items']} not used yet)")
    if totals["metrics"]:
        metrics = ", ".join(f"{k} {v}" for k, v in sorted(totals["metrics"].items()))
        lines.append(f"  metrics: {metrics}")
    return "\n".join(lines)
