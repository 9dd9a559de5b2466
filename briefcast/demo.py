"""`make demo`: the whole product on its embedded defaults, example briefs end to end."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PIL import Image

from briefcast.client import ApiClient, bootstrap_token, load_json
from briefcast.stack import Ports, Stack, clear_leftovers

TERMINAL = {"published", "failed", "needs_review"}
# The example campaign's template and items, on a schedule short enough to watch.
DEMO_OCCURRENCES = 3
DEMO_INTERVAL_S = 10
# Metric snapshots seconds rather than hours after publishing, while the sandboxes' clock runs
# TIME_LAPSE times faster than the wall clock: +10 s reads a post as it is about an hour in.
DEMO_METRIC_OFFSETS_S = [10, 25, 45]
TIME_LAPSE = 360
# Each setting the demo changes: (its value, why), printed when the demo starts.
DEMO_SETTINGS = {
    "RATE_LIMIT_ANALYTICS": (
        "10000/minute",
        # A real client would poll less often, or honour Retry-After.
        "the product's default is 100/minute; the demo polls every run twice a second",
    ),
    "METRIC_OFFSETS_S": (
        json.dumps(DEMO_METRIC_OFFSETS_S),
        "the product's default starts at +15 min; the demo reads its posts within a minute",
    ),
}
DEMO_ENV = {name: value for name, (value, _) in DEMO_SETTINGS.items()}


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _watch(api: ApiClient, stack: Stack, runs: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """Poll every run, printing each status change, until all are terminal."""
    seen: dict[str, str] = {}
    views: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        for run_id, name in runs.items():
            view = api.run(run_id)
            views[run_id] = view
            posts = ", ".join(f"{p['platform']}={p['status']}" for p in view["posts"])
            line = f"{view['status']} ({posts})"
            if seen.get(run_id) != line:
                seen[run_id] = line
                _say(f"{name:<28} {line}")
        if all(v["status"] in TERMINAL for v in views.values()):
            break
        time.sleep(0.5)
    return views


def _image_ok(stack: Stack, key_url: str) -> tuple[str, str]:
    key = key_url.split("/media/", 1)[1]
    path = stack.data_dir / "media" / key
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return str(path), f"{image.format} {image.width}x{image.height}"


def _summary(stack: Stack, runs: dict[str, str], views: dict[str, Any]) -> bool:
    records = {
        platform: httpx.get(f"{stack.sandbox_url(platform)}/_sandbox/posts", timeout=5).json()
        for platform in ("instagram", "linkedin")
    }
    print("\n=== Briefcast demo summary ===")
    all_published = True
    for run_id, name in runs.items():
        view = views[run_id]
        all_published &= view["status"] == "published"
        print(f"\n{name}  run {run_id}: {view['status'].upper()}")
        if view.get("status_reason"):
            print(f"  reason: {view['status_reason']}")
        for post in view["posts"]:
            first_line = (post["caption"] or "").splitlines()[0] if post["caption"] else ""
            print(f"  [{post['platform']}] {post['status']}  copy by {post['copy_source']}")
            print(f"    copy:   {first_line[:90]}")
            if post["image_url"]:
                path, described = _image_ok(stack, post["image_url"])
                print(f"    image:  {path} ({described})")
            print(f"    posted: {post['platform_post_id']}")
    print()
    for platform, posts in records.items():
        print(f"{platform} sandbox holds {len(posts)} post(s)")
    if stack.env.get("OPENAI_BASE_URL", "").startswith(stack.sandbox_url("openai")):
        calls = httpx.get(f"{stack.sandbox_url('openai')}/_sandbox/records", timeout=5).json()
        completions = [c for c in calls if c["path"] == "/v1/chat/completions"]
        print(f"openai sandbox answered {len(completions)} chat completion(s) for the copy")
    return all_published


class TimeLapse:
    """Moves the Instagram and LinkedIn sandboxes' clock forward `factor` times as fast as the
    wall clock (their `/_sandbox/clock` control), so insights grow as over hours."""

    def __init__(self, stack: Stack, factor: float, tick_s: float = 0.5) -> None:
        self._urls = [f"{stack.sandbox_url(p)}/_sandbox/clock" for p in ("instagram", "linkedin")]
        self._step = {"advance_s": (factor - 1) * tick_s}
        self._tick_s = tick_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-time-lapse", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=2) as http:
            while not self._stop.wait(self._tick_s):
                for url in self._urls:
                    with contextlib.suppress(httpx.HTTPError):  # a missed tick only slows it
                        http.post(url, json=self._step)


def _wait_for_readings(post_ids: list[uuid.UUID], timeout_s: float) -> int:
    """Wait until beat's collector has read every snapshot of every post; prints progress and
    returns how many readings there are."""
    from briefcast.models.repositories.reports import organization_by_slug
    from briefcast.models.session import worker_session
    from briefcast.pipeline.analytics.queries import post_series_sync

    wanted = len(post_ids) * len(DEMO_METRIC_OFFSETS_S)
    shown, deadline = -1, time.monotonic() + timeout_s
    while True:
        with worker_session() as session:
            org = organization_by_slug(session, "demo")
            assert org is not None
            series = [post_series_sync(session, org.id, post_id) for post_id in post_ids]
        count = sum(len(s.readings) for s in series if s is not None)
        if count != shown:
            shown = count
            _say(f"metric snapshots collected: {count}/{wanted}")
        if count >= wanted or time.monotonic() > deadline:
            return count
        time.sleep(1)


def _report(views: dict[str, Any], timezone: str, out: Path) -> tuple[Path, bool]:
    """Wait for the posts' readings, write the report; False if there was no reading at all."""
    from briefcast.cli_report import write_report

    post_ids = [
        uuid.UUID(post["id"])
        for view in views.values()
        for post in view["posts"]
        if post["status"] == "published"
    ]
    _say(
        f"collecting metrics at +{', +'.join(map(str, DEMO_METRIC_OFFSETS_S))} s after each "
        f"post (METRIC_OFFSETS_S for the demo; the product's default starts at +15 min), the "
        f"sandboxes' clock running {TIME_LAPSE}x as fast"
    )
    readings = _wait_for_readings(post_ids, timeout_s=max(DEMO_METRIC_OFFSETS_S) + 60)
    if not readings:
        _say("no metric reading was collected: the report has no numbers")
    return write_report("demo", out, days=30, timezone=timezone), readings > 0


def short_campaign(path: Path, now: datetime) -> dict[str, Any]:
    """The example campaign with its schedule replaced: a few occurrences seconds apart,
    starting shortly after `now`, in the campaign's own time zone."""
    campaign = load_json(path)
    start = now.astimezone(ZoneInfo(campaign["timezone"])) + timedelta(seconds=15)
    campaign["name"] += " (demo)"
    campaign["schedule"] = {
        "kind": "recurrence",
        "rrule": f"FREQ=SECONDLY;INTERVAL={DEMO_INTERVAL_S};COUNT={DEMO_OCCURRENCES}",
        "start": start.replace(tzinfo=None, microsecond=0).isoformat(),
    }
    return campaign


def _campaign_runs(api: ApiClient, campaign_id: str, timeout_s: float) -> dict[str, str]:
    """Wait for the materializer to turn every occurrence into a run; name each run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        past = api.campaign(campaign_id)["past_occurrences"]
        if len(past) >= DEMO_OCCURRENCES:
            return {
                o["run_id"]: f"campaign @ {o['occurs_at'][11:19]}"
                for o in sorted(past, key=lambda o: o["occurs_at"])
                if o["run_id"]
            }
        time.sleep(0.5)
    raise TimeoutError("the campaign's occurrences were not materialized in time")


def _campaign_summary(api: ApiClient, campaign_id: str) -> bool:
    view = api.campaign(campaign_id)
    print(f"\ncampaign {view['name']!r} ({view['timezone']}): {view['status']}")
    past = sorted(view["past_occurrences"], key=lambda o: o["occurs_at"])
    for occurrence in past:
        outcome = occurrence["run_status"] or occurrence["reason"]
        print(f"  {occurrence['occurs_at']}  {occurrence['status']:<8} {outcome}")
    return len(past) == DEMO_OCCURRENCES and all(o["run_status"] == "published" for o in past)


def run_demo(
    examples: Path, data_dir: Path, timeout_s: float = 180, report: Path | None = None
) -> int:
    # Every demo starts from nothing, so what it prints is only this run's work; what a
    # demo killed before it could stop left running is stopped before its folder goes.
    clear_leftovers(data_dir, say=_say)
    shutil.rmtree(data_dir, ignore_errors=True)
    stack = Stack(data_dir=data_dir, ports=Ports.free(), with_flower=False, extra_env=DEMO_ENV)
    for name, (value, why) in DEMO_SETTINGS.items():
        _say(f"setting changed: {name} = {value} ({why})")
    lapse: TimeLapse | None = None
    api: ApiClient | None = None
    try:
        stack.start(say=_say)
        lapse = TimeLapse(stack, TIME_LAPSE)
        lapse.start()
        os.environ.update(stack.env)
        from briefcast.settings import get_settings

        get_settings.cache_clear()
        api = ApiClient(stack.api_url, bootstrap_token("demo"))
        runs: dict[str, str] = {}
        for path in sorted(examples.glob("*.json")):
            accepted = api.submit(load_json(path))
            runs[accepted["run_id"]] = path.stem
            _say(f"submitted {path.name} → run {accepted['run_id']}")
        campaign_file = examples / "campaigns" / "weekly-tips.json"
        campaign = api.create_campaign(short_campaign(campaign_file, datetime.now().astimezone()))
        _say(
            f"created campaign {campaign['name']!r} from {campaign_file.name}: "
            f"{DEMO_OCCURRENCES} occurrences {DEMO_INTERVAL_S} s apart (a short schedule for "
            f"the demo; the file's own is {load_json(campaign_file)['schedule']['rrule']})"
        )
        runs.update(_campaign_runs(api, campaign["id"], timeout_s=60))
        views = _watch(api, stack, runs, timeout_s)
        ok = _summary(stack, runs, views)
        ok = _campaign_summary(api, campaign["id"]) and ok
        print()
        out = report or data_dir.parent / "report.html"
        written, measured = _report(views, load_json(campaign_file)["timezone"], out)
        ok = measured and ok
        print(f"\nreport: {written.resolve()}")
        print("\nevery run published on every platform" if ok else "\nNOT every run published")
        return 0 if ok else 1
    except Exception as exc:
        _say(f"failed: {exc}")
        for name in stack.children:
            log = stack.log_path(name)
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-15:]
                print(f"--- {name} log (last lines) ---", *tail, sep="\n", file=sys.stderr)
        return 1
    finally:
        if api is not None:
            api.close()
        if lapse is not None:
            lapse.stop()
        _say("stopping the stack …")
        stack.stop()
