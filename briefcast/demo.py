"""`make demo`: the whole product on its embedded defaults, example briefs end to end."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from briefcast.client import ApiClient, bootstrap_token, load_brief
from briefcast.stack import Ports, Stack

TERMINAL = {"published", "failed", "needs_review"}


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


def run_demo(examples: Path, data_dir: Path, timeout_s: float = 180) -> int:
    # Every demo starts from nothing, so what it prints is only this run's work.
    shutil.rmtree(data_dir, ignore_errors=True)
    stack = Stack(data_dir=data_dir, ports=Ports.free(), with_flower=False)
    try:
        stack.start(say=_say)
        os.environ.update(stack.env)
        from briefcast.settings import get_settings

        get_settings.cache_clear()
        api = ApiClient(stack.api_url, bootstrap_token("demo"))
        runs: dict[str, str] = {}
        for path in sorted(examples.glob("*.json")):
            accepted = api.submit(load_brief(path))
            runs[accepted["run_id"]] = path.stem
            _say(f"submitted {path.name} → run {accepted['run_id']}")
        views = _watch(api, stack, runs, timeout_s)
        ok = _summary(stack, runs, views)
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
        _say("stopping the stack …")
        stack.stop()
