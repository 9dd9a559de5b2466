"""Benchmark the ingress: POST /api/v1/briefs against the same framework doing nothing.

Usage: .venv/bin/python -m bench.ingress [--briefs 2000] [--concurrency 16] [--warmup 300]
       [--rounds 4] [--no-keys] [--drain-briefs 1000]

Starts the whole stack on its own embedded services, pauses every Celery worker (each cancels
its consumers, so nothing the API sends is taken while we measure), and POSTs --briefs
distinct briefs from --concurrency keep-alive clients, each with its own Idempotency-Key as
`briefcast submit` sends them. Then the same bodies, headers and client against a hello-world
FastAPI app (one pydantic model, no I/O) served by the same uvicorn command. Prints req/s and
p50/p95/p99 for both and the ratio, then checks the accepted briefs: a run, a post per
platform and an outbox row each, every outbox row marked sent by the API.

With --drain-briefs N > 0 it then resumes the workers and, while the pipeline drains the burst
(copy, checks, renders, schedules, publishes), POSTs N more briefs and prints their latency.

Targets: ratio >= 0.4 and p95 <= 50 ms with the workers paused (exit 1 otherwise); p95 <= 200 ms
while the pipeline drains (reported).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench._ingress import LoadResult, hello_world_server, post_load
from bench.scheduler import wait_for_workers
from briefcast.chaos.runner import api_token, drill_brief, isolated_stack
from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import Post
from briefcast.models.runs import Brief, Run
from briefcast.pipeline.queues import TaskQueue
from briefcast.settings import Settings
from briefcast.stack import Stack, api_workers

TARGET_RATIO = 0.4
TARGET_P95_MS = 50.0
TARGET_DRAIN_P95_MS = 200.0
BRIEFS_PATH = "/api/v1/briefs"


def _say(message: str) -> None:
    print(f"[bench.ingress] {message}", flush=True)


def _headers(token: str, keys: bool, tag: str) -> Any:
    auth = {"Authorization": f"Bearer {token}"}

    def headers_for(i: int) -> dict[str, str]:
        if not keys:
            return auth
        return {**auth, "Idempotency-Key": f"bench-{tag}-{i}-{uuid.uuid4().hex[:12]}"}

    return headers_for


class Workers:
    """Pause and resume every Celery worker of the stack by its consumers."""

    def __init__(self, stack: Stack) -> None:
        broker = Settings(redis_url=stack.env["REDIS_URL"]).redis_celery_url
        self.app = Celery("bench-ingress", broker=broker)
        self.queues: dict[str, list[str]] = {}

    def pause(self) -> None:
        replies = self.app.control.inspect(timeout=2.0).active_queues() or {}
        self.queues = {worker: [q["name"] for q in queues] for worker, queues in replies.items()}
        for queue in TaskQueue:
            self.app.control.cancel_consumer(queue.value, reply=True, timeout=2.0)
        left = self.app.control.inspect(timeout=2.0).active_queues() or {}
        still = {w: [q["name"] for q in qs] for w, qs in left.items() if qs}
        if still:
            raise RuntimeError(f"workers still consuming: {still}")

    def resume(self) -> None:
        for worker, queues in self.queues.items():
            for queue in queues:
                self.app.control.add_consumer(queue, destination=[worker], reply=True, timeout=2.0)

    def close(self) -> None:
        self.app.close()


def _check_accepted(engine: Engine, org_token_briefs: int, platforms: int) -> list[str]:
    """What the accepted briefs left in PostgreSQL; problems as sentences (none: all good)."""
    problems = []
    with Session(engine) as session:
        briefs = session.scalar(select(func.count()).select_from(Brief)) or 0
        runs = session.scalar(select(func.count()).select_from(Run)) or 0
        posts = session.scalar(select(func.count()).select_from(Post)) or 0
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        unsent = (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
            )
            or 0
        )
    _say(
        f"in PostgreSQL: {briefs} briefs, {runs} runs, {posts} posts, {outbox} outbox rows "
        f"({unsent} not marked sent)"
    )
    if not briefs == runs == outbox == org_token_briefs:
        problems.append(f"expected {org_token_briefs} briefs, runs and outbox rows")
    if posts != org_token_briefs * platforms:
        problems.append(f"expected {org_token_briefs * platforms} posts")
    if unsent:
        problems.append(f"{unsent} outbox rows not marked sent (the relay fell back to the sweep)")
    return problems


def _wait_marked_sent(engine: Engine, timeout_s: float = 10.0) -> None:
    """The API may mark outbox rows sent shortly after answering; give it a moment."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with Session(engine) as session:
            unsent = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
            )
        if not unsent:
            return
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingress", description=__doc__)
    parser.add_argument("--briefs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=300, help="untimed requests first, each")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the two servers")
    parser.add_argument(
        "--no-keys", dest="keys", action="store_false", help="send no Idempotency-Key"
    )
    parser.add_argument("--drain-briefs", type=int, default=1000)
    args = parser.parse_args(argv)

    workers = api_workers()
    _say(
        f"API_WORKERS={workers}: uvicorn --workers, one process per CPU unless API_WORKERS "
        "says otherwise; the hello-world app gets the same command"
    )
    _say(
        f"{args.concurrency} keep-alive clients; {args.warmup} warm-up requests per server "
        "first (connection pools, prepared statements, first-use imports), untimed"
    )
    _say(
        f"{args.rounds} rounds alternating briefcast and hello-world, {args.briefs} briefs each "
        "in all: this machine is shared, and a load that comes and goes then hits both alike"
    )
    _say(
        "an Idempotency-Key on every request, as `briefcast submit` sends it"
        if args.keys
        else "no Idempotency-Key (--no-keys)"
    )
    platforms = len(drill_brief(0)["platforms"])
    total = args.warmup + args.briefs
    bodies = [drill_brief(i) for i in range(total + args.drain_briefs)]
    size = -(-args.briefs // max(1, args.rounds))
    chunks = [bodies[i : i + size] for i in range(args.warmup, total, size)]
    problems: list[str] = []
    drained: LoadResult | None = None
    ours: list[LoadResult] = []
    theirs: list[LoadResult] = []
    with (
        isolated_stack(Path(".data/bench-ingress"), _say) as (stack, engine),
        hello_world_server(workers) as hello_base,
    ):
        wait_for_workers(stack, 1)
        control = Workers(stack)
        try:
            _say(
                "pausing the workers (cancel_consumer on every queue) so the API is measured "
                "alone; the messages it sends wait in Redis"
            )
            control.pause()
            token = api_token(engine, "bench")
            url = f"{stack.api_url}{BRIEFS_PATH}"
            hello_url = f"{hello_base}{BRIEFS_PATH}"
            warm = post_load(
                url, bodies[: args.warmup], _headers(token, args.keys, "warm"), args.concurrency
            )
            _say(warm.line("warm-up (briefcast)"))
            hello_warm = post_load(
                hello_url, bodies[: args.warmup], _headers(token, args.keys, "w"), args.concurrency
            )
            _say(hello_warm.line("warm-up (hello)    "))
            for n, chunk in enumerate(chunks, 1):
                ours.append(
                    post_load(url, chunk, _headers(token, args.keys, f"r{n}"), args.concurrency)
                )
                theirs.append(
                    post_load(
                        hello_url, chunk, _headers(token, args.keys, f"h{n}"), args.concurrency
                    )
                )
                _say(
                    f"round {n}: briefcast {ours[-1].rps:.0f} req/s p95 {ours[-1].p95_ms:.1f} ms"
                    f", hello-world {theirs[-1].rps:.0f} req/s p95 {theirs[-1].p95_ms:.1f} ms"
                )
            _wait_marked_sent(engine)
            accepted = warm.statuses.get(202, 0) + sum(r.statuses.get(202, 0) for r in ours)
            problems += _check_accepted(engine, accepted, platforms)
            if accepted != total:
                problems.append(f"only {accepted} of {total} briefs answered 202")
            if args.drain_briefs:
                _say(
                    f"resuming the workers; {args.drain_briefs} more briefs while the pipeline "
                    f"drains the {total} runs it holds"
                )
                control.resume()
                time.sleep(1.0)  # the workers are taking messages again
                drained = post_load(
                    url, bodies[total:], _headers(token, args.keys, "drain"), args.concurrency
                )
        finally:
            control.close()

    briefcast = LoadResult.combine(ours)
    hello = LoadResult.combine(theirs)
    ratio = briefcast.rps / hello.rps if hello.rps else 0.0
    print()
    print(f"ingress: {args.briefs} briefs, {args.concurrency} clients, {workers} API worker(s)")
    print(briefcast.line("briefcast (workers paused)"))
    print(hello.line("hello-world               "))
    print(f"ratio briefcast / hello-world: {ratio:.2f}  (target >= {TARGET_RATIO})")
    if drained is not None:
        print(drained.line("briefcast (while draining)"))
        drain_ok = drained.p95_ms <= TARGET_DRAIN_P95_MS and drained.statuses.get(202) == len(
            bodies[total:]
        )
        print(
            f"while draining: p95 {drained.p95_ms:.1f} ms (target <= {TARGET_DRAIN_P95_MS:.0f}) "
            + ("met" if drain_ok else "NOT met")
        )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    ok = ratio >= TARGET_RATIO and briefcast.p95_ms <= TARGET_P95_MS and not problems
    print(
        f"target met (ratio >= {TARGET_RATIO}, p95 <= {TARGET_P95_MS:.0f} ms, every brief stored)"
        if ok
        else "target NOT met"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
