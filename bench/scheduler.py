"""Benchmark the scheduler: thousands of due posts, how late does each reach its platform?

Usage: .venv/bin/python -m bench.scheduler [--posts 5000] [--spread 120] [--concurrency 64]
       [--workers 3] [--threads 24] [--grace 60]

Starts the whole stack on its own embedded services (no faults, quotas out of the way),
inserts --posts already-rendered posts straight into PostgreSQL (half as many runs, each with
an Instagram and a LinkedIn post) due evenly across --spread seconds, and lets the real beat,
dispatcher and workers publish them. A post's delay is the sandbox's receipt of its publish
call (the record time of `media_publish` / `POST /rest/posts`) minus its `scheduled_at`.
Prints p50, p99 and max delay, duplicates (platform posts per post > 1) and misses (posts not
received within --grace seconds after the last one was due), and where the delay went (due
→ a worker starts the attempt, attempt start → platform). Target: p99 <= 2 s, none of either.

The stack is scaled out the Celery way: --workers I/O worker processes on the same queues, and
each sandbox in a process of its own, so no one interpreter's GIL is the limit.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from celery import Celery
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from bench._support import percentile
from briefcast.chaos.runner import isolated_stack
from briefcast.models.posts import Post, PostAttempt, PostStatus
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.runs import Brief, Run, RunStatus
from briefcast.pipeline.render.images import render_headline_card
from briefcast.pipeline.render.storage import LocalMediaStore
from briefcast.settings import Settings
from briefcast.stack import Stack

PLATFORMS = ("instagram", "linkedin")
SANDBOXES_FLAG = "--sandboxes"
LEAD_S = 10.0  # the first post is due this long after the insert starts


def _say(message: str) -> None:
    print(f"[bench.scheduler] {message}", flush=True)


def serve_sandboxes(argv: list[str]) -> None:
    """`python -m briefcast.sandbox` with Instagram's 400-containers-per-24-h cap lifted
    (docs/contracts §2.3): every post needs a container, and that command has no flag for the
    cap."""
    from briefcast.sandbox import __main__ as sandbox_main
    from briefcast.sandbox import instagram

    defaults = instagram.create_app.__kwdefaults__
    assert defaults is not None
    defaults["container_limit"] = 10**9
    sandbox_main.main(argv)


def wait_for_workers(stack: Stack, count: int, timeout_s: float = 120.0) -> None:
    """Until `count` I/O workers answer a ping: the stack is up once its HTTP services are,
    but the clock of a scheduler measurement must not start while workers are still booting."""
    broker = Settings(redis_url=stack.env["REDIS_URL"]).redis_celery_url
    app = Celery("bench", broker=broker)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            replies = app.control.ping(timeout=1.0)
            ready = [name for reply in replies for name in reply if name.startswith("io")]
            if len(ready) >= count:
                _say(f"{len(ready)} I/O workers answer")
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(ready)} of {count} I/O workers came up")
            time.sleep(0.5)
    finally:
        app.close()


def insert_posts(stack: Stack, engine: Engine, posts: int, spread_s: float) -> datetime:
    """`posts` scheduled posts on one rendered image per platform; returns the first due time."""
    store = LocalMediaStore(stack.data_dir / "media")
    images = {
        p: store.put(render_headline_card("Scheduler benchmark", p, "#1F4E79").data)
        for p in PLATFORMS
    }
    first_due = datetime.now(UTC) + timedelta(seconds=LEAD_S)
    step = spread_s / max(1, posts - 1)
    briefs, runs, rows = [], [], []
    with Session(engine) as session, session.begin():
        org_id = ensure_organization(session, "bench", "Bench")
        for n in range(posts // len(PLATFORMS)):
            brief_id, run_id = uuid.uuid4(), uuid.uuid4()
            topic = f"Scheduler benchmark post {n + 1}"
            briefs.append(
                {
                    "id": brief_id,
                    "organization_id": org_id,
                    "topic": topic,
                    "key_points": ["measured, not asserted"],
                    "brand_voice": "plain",
                    "audience": "benchmarks",
                    "brand_color": "#1F4E79",
                    "platforms": list(PLATFORMS),
                    "request_hash": "0" * 64,
                }
            )
            runs.append(
                {
                    "id": run_id,
                    "brief_id": brief_id,
                    "organization_id": org_id,
                    "status": RunStatus.SCHEDULED,
                }
            )
            for k, platform in enumerate(PLATFORMS):
                index = n * len(PLATFORMS) + k
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "run_id": run_id,
                        "organization_id": org_id,
                        "platform": platform,
                        "status": PostStatus.SCHEDULED,
                        # Distinct captions: Instagram recovery and LinkedIn dedup go by text.
                        "caption": f"{topic}: due at slot {index + 1} of {posts}.",
                        "headline": topic,
                        "alt_text": "Scheduler benchmark",
                        "copy_source": "bench",
                        "image_path": images[platform],
                        "scheduled_at": first_due + timedelta(seconds=index * step),
                    }
                )
        session.execute(insert(Brief), briefs)
        session.execute(insert(Run), runs)
        session.execute(insert(Post), rows)
    return first_due


def _published(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).where(Post.status == PostStatus.PUBLISHED)) or 0


def wait_for_publishing(
    engine: Engine, posts: int, first_due: datetime, spread_s: float, grace_s: float
) -> None:
    last_due = first_due.timestamp() + spread_s
    previous, previous_t = 0, time.time()
    while True:
        time.sleep(5)
        now = time.time()
        published = _published(engine)
        due = (
            posts
            if now >= last_due
            else max(0, int((now - first_due.timestamp()) / spread_s * posts))
        )
        rate = (published - previous) / (now - previous_t)
        previous, previous_t = published, now
        _say(
            f"{now - first_due.timestamp():6.1f}s after the first due time: due {due}, "
            f"published {published}, backlog {max(0, due - published)}, {rate:.1f} posts/s"
        )
        if published >= posts or now > last_due + grace_s:
            return


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def measure(stack: Stack, engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        ours = {
            (post.platform, post.platform_post_id or f"none:{post.id}"): post
            for post in session.scalars(select(Post))
        }
        first_start = dict(
            session.execute(
                select(PostAttempt.post_id, func.min(PostAttempt.started_at)).group_by(
                    PostAttempt.post_id
                )
            ).all()
        )
    captions = {(p.platform, p.caption): p for p in ours.values()}
    received: dict[uuid.UUID, list[float]] = {p.id: [] for p in ours.values()}
    per_post: Counter[uuid.UUID] = Counter()
    for platform in PLATFORMS:
        base = stack.sandbox_url(platform)
        for record in httpx.get(f"{base}/_sandbox/records", timeout=120).json():
            publish = record.get("publish")
            if not publish:
                continue  # not a publish call, or one that did not create a post
            post = ours.get((platform, publish["platform_post_id"]))
            if post is None:  # a second platform post of one of ours has another id
                caption = publish["caption"]
                post = captions.get((platform, caption))
            if post is not None:
                received[post.id].append(record["at"])
        for item in httpx.get(f"{base}/_sandbox/posts", timeout=120).json():
            caption = item["sent_commentary"] if platform == "linkedin" else item["caption"]
            post = captions.get((platform, caption))
            if post is not None:
                per_post[post.id] += 1
    scheduled = {p.id: p.scheduled_at for p in ours.values()}
    delays, waits, works = [], [], []
    for post_id, times in received.items():
        due, started = scheduled[post_id], first_start.get(post_id)
        if not times or due is None:
            continue
        delays.append(min(times) - _epoch(due))
        if started is not None:  # where the delay went: waiting for a worker, or publishing
            waits.append(_epoch(started) - _epoch(due))
            works.append(min(times) - _epoch(started))
    return {
        "posts": len(ours),
        "delays": delays,
        "waits": waits,
        "works": works,
        "duplicates": sum(n - 1 for n in per_post.values() if n > 1),
        "misses": sum(1 for times in received.values() if not times),
        "statuses": Counter(p.status for p in ours.values()),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [SANDBOXES_FLAG]:
        serve_sandboxes(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.scheduler", description=__doc__)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--spread", type=float, default=120.0, help="seconds the due times span")
    parser.add_argument("--concurrency", type=int, default=64, help="posts in flight per account")
    parser.add_argument("--threads", type=int, default=24, help="threads per I/O worker")
    parser.add_argument("--workers", type=int, default=3, help="I/O worker processes")
    parser.add_argument("--grace", type=float, default=60.0, help="wait after the last due time")
    args = parser.parse_args(argv)

    env = {
        "PUBLISH_CONCURRENCY_PER_ACCOUNT": str(args.concurrency),
        "WORKER_DB_POOL_SIZE": str(args.threads),
    }
    sandboxes = [sys.executable, "-m", "bench.scheduler", SANDBOXES_FLAG]
    with isolated_stack(
        Path(".data/bench-scheduler"),
        _say,
        extra_env=env,
        ig_quota_total=10 * args.posts,
        io_threads=args.threads,
        io_workers=args.workers,
        sandbox_per_service=True,
        sandbox_command=sandboxes,
    ) as (stack, engine):
        wait_for_workers(stack, args.workers)
        started = time.monotonic()
        first_due = insert_posts(stack, engine, args.posts, args.spread)
        _say(f"inserted {args.posts} scheduled posts in {time.monotonic() - started:.1f} s")
        wait_for_publishing(engine, args.posts, first_due, args.spread, args.grace)
        result = measure(stack, engine)
    delays = result["delays"]
    print(
        f"\nscheduler: {result['posts']} posts due over {args.spread:.0f} s, "
        f"{args.concurrency} in flight per account, "
        f"{args.workers} I/O worker(s) x {args.threads} threads"
    )
    if delays:
        print(
            f"delay scheduled_at → platform: p50 {percentile(delays, 0.5):.2f} s  "
            f"p99 {percentile(delays, 0.99):.2f} s  max {max(delays):.2f} s  (n={len(delays)})"
        )
        early = sum(1 for d in delays if d < 0)
        print(f"earliest {min(delays):+.3f} s after its due time; posted early: {early}")
        for label, values in (
            ("  of which due → worker starts", result["waits"]),
            ("  and worker start → platform", result["works"]),
        ):
            if values:
                print(
                    f"{label}: p50 {percentile(values, 0.5):.2f} s  "
                    f"p99 {percentile(values, 0.99):.2f} s"
                )
    print(f"posts by status: {dict(sorted(result['statuses'].items()))}")
    print(f"duplicates: {result['duplicates']}  misses: {result['misses']}")
    ok = bool(delays) and percentile(delays, 0.99) <= 2.0 and min(delays) >= 0
    unsettled = result["posts"] - result["statuses"].get(PostStatus.PUBLISHED, 0)
    print(f"posts we do not show as published (unsettled): {unsettled}")
    ok = ok and result["duplicates"] == 0 and result["misses"] == 0 and unsettled == 0
    print(
        "target met (p99 <= 2 s, none early, 0 duplicates, 0 misses, all settled)"
        if ok
        else "target NOT met"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
