"""Benchmark the campaign materializer: 10,000 active campaigns, one beat tick at a time.

Usage: .venv/bin/python -m bench.campaigns [--campaigns 10000] [--orgs 50] [--ticks 10]
       [--max-age-days 90] [--seed 1] [--now 2026-12-01T09:00Z] [--data-dir .data/bench-campaigns]
Short: .venv/bin/python -m bench.campaigns --campaigns 500 --orgs 5 --ticks 3

On the product's defaults: PostgreSQL at DATABASE_URL (it must hold no campaigns: every
occurrence a tick makes is judged), else an embedded one; Redis at REDIS_URL, else an embedded
one, as the broker the tick's relay sends to (nothing consumes those events here).

1. Plants --campaigns active campaigns over --orgs organizations, inserted in bulk as rows
   the way the API stores them (see `_campaigns_mix`): hourly at every minute offset (some
   every two hours, some business hours only), daily and weekly at local times in eight IANA
   zones (five with daylight saving), slot queues with queued items, in-order and rotating
   (evergreen) items; recurrences that started up to --max-age-days ago.
2. Ticks as beat's `pipeline.campaigns.materialize` task does, with its clock injected:
   `materialize` in batches of 500, each in a worker_session transaction, until a batch is
   not full; each batch's new runs' events relayed to the broker after its commit. --ticks
   ticks a minute apart (timed), a repeat at the last minute, then two at once (threads) a
   minute later. With the defaults about 30 occurrences fall due per tick, most of them
   hourly campaigns' (~1/60 of those at every minute offset).
3. Counts every occurrence due in that time from the schedules alone (`schedule.parse(…)
   .occurrences`, a slot queue's item slots) and checks PostgreSQL: one row for each, none
   for anything else; one run for each created one, with its posts and one outbox event.

Targets (exit 1 on a miss): the slowest of the --ticks measured ticks <= 1 s (the max, not a
p95: ten ticks have no meaningful p95), 0 duplicates, 0 missing, 0 unexpected.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench._campaigns_check import Check, Key, due_between, verify
from bench._campaigns_mix import Planted, Say, plant
from bench._support import percentile
from briefcast.models.campaigns import Campaign
from briefcast.models.session import reset_worker_engine, worker_session
from briefcast.pipeline.broker import redacted
from briefcast.pipeline.campaigns import schedule
from briefcast.pipeline.campaigns.materialize import BATCH, materialize
from briefcast.pipeline.celery_app import app, configure
from briefcast.pipeline.outbox import service as outbox
from briefcast.settings import get_settings

MINUTE = timedelta(minutes=1)  # beat's interval for the materializer (BEAT_INTERVALS_S)
TARGET_S = 1.0


def _say(message: str) -> None:
    print(f"[bench.campaigns] {message}", flush=True)


@dataclass
class BenchConfig:
    campaigns: int = 10_000
    orgs: int = 50
    ticks: int = 10
    max_age_days: float = 90.0
    seed: int = 1
    now: datetime | None = None  # the first measured tick's clock; None: this minute


@dataclass
class Tick:
    now: datetime
    due: int | None = None  # occurrences in its window, from the schedules alone
    campaigns: int = 0  # locked
    created: int = 0
    skipped: int = 0
    parked: int = 0  # campaigns the materializer could not plan (status failed)
    batches: int = 0
    relayed: int = 0
    seconds: float = 0.0
    relay_seconds: float = 0.0
    expansion_seconds: float = 0.0  # the due schedules' expansion alone, re-timed outside

    def line(self) -> str:
        due = "" if self.due is None else f"due {self.due}, "
        return (
            f"{due}locked {self.campaigns} campaigns, created {self.created}, "
            f"skipped {self.skipped}, parked {self.parked}, {self.batches} batch(es), "
            f"{self.seconds:.3f} s "
            f"(relay of {self.relayed} events {self.relay_seconds:.3f} s)"
        )


@dataclass
class BenchResult:
    config: BenchConfig
    horizon: timedelta
    first_now: datetime
    planted: int
    insert_seconds: float
    lock_plan: list[str]
    ticks: list[Tick] = field(default_factory=list)
    repeat: Tick | None = None
    concurrent: list[Tick] = field(default_factory=list)
    concurrent_due: int = 0
    check: Check = field(default_factory=Check)


def tick(now: datetime, horizon: timedelta) -> Tick:
    """One run of the `pipeline.campaigns.materialize` task (briefcast/pipeline/tasks.py) with
    `now` injected: the same loop, the same transactions, the same relay."""
    result = Tick(now)
    started = time.perf_counter()
    while True:
        with worker_session() as session:
            report = materialize(session, now, horizon=horizon)
        result.batches += 1
        result.campaigns += report.campaigns
        result.created += report.created
        result.skipped += report.skipped
        result.parked += report.parked
        if report.runs:
            relay_started = time.perf_counter()
            with worker_session() as session:
                result.relayed += outbox.relay_many(
                    session, app, [run.outbox_id for run in report.runs]
                )
            result.relay_seconds += time.perf_counter() - relay_started
        if report.campaigns < BATCH:
            break
    result.seconds = time.perf_counter() - started
    return result


def _in_window(due: set[Key], after: datetime, through: datetime) -> set[Key]:
    return {key for key in due if after < key[1] <= through}


def expansion_seconds(
    planted: dict[uuid.UUID, Planted], keys: set[Key], after: datetime, through: datetime
) -> float:
    """What the tick spent expanding schedules, re-timed outside it: for each due recurrence,
    what `planning.plan_campaign` calls (parse from its anchor, expand the window, the next
    occurrence). Campaigns due in the window are due once in it, so the planted anchor is
    the one they had."""
    started = time.perf_counter()
    for campaign_id in {campaign_id for campaign_id, _ in keys}:
        c = planted[campaign_id]
        if c.slots is None:
            sched = schedule.parse(c.schedule, c.timezone, c.anchor, c.ends_at)
            assert isinstance(sched, schedule.Recurrence)
            sched.expand(after, through)
            sched.next_occurrence(through)
    return time.perf_counter() - started


def lock_plan(through: datetime) -> list[str]:
    """EXPLAIN ANALYZE of the materializer's lock query (repositories/campaigns.py
    lock_due_campaigns), rolled back: how many campaigns a tick reads to find the due ones."""
    with worker_session() as session:
        plan = session.scalars(
            text(
                "EXPLAIN (ANALYZE) SELECT * FROM campaigns WHERE status = 'active' "
                "AND next_due_at <= :through ORDER BY next_due_at LIMIT :limit "
                "FOR UPDATE SKIP LOCKED"
            ),
            {"through": through, "limit": BATCH},
        ).all()
        session.rollback()
    return [line.strip() for line in plan if "Scan" in line or "Execution" in line]


def run(config: BenchConfig, say: Say = _say) -> BenchResult:
    """Plant, tick and check, on the database and broker the settings name (migrated)."""
    horizon = timedelta(seconds=get_settings().campaign_horizon_s)
    first_now = config.now or datetime.now(UTC).replace(second=0, microsecond=0)
    # Where the tick a minute before the first measured one left every campaign's cursor.
    cursor = first_now - MINUTE + horizon
    say(
        f"planting {config.campaigns} active campaigns over {config.orgs} organizations: rows "
        "inserted directly, as the API stores them (schedule document, zone, template, "
        f"items), recurrences started up to {config.max_age_days:g} days ago, materialized "
        f"through {cursor:%Y-%m-%d %H:%M}Z (horizon {horizon}, as beat's last tick left them)"
    )
    started = time.monotonic()
    planted = plant(config.campaigns, config.orgs, cursor, config.max_age_days, config.seed, say)
    inserted_s = time.monotonic() - started
    by_id = {p.id: p for p in planted}
    last_now = first_now + config.ticks * MINUTE  # the concurrent pair's clock
    say("counting every due occurrence from the schedules alone …")
    due = due_between(planted, cursor, last_now + horizon)
    say(f"{len(due)} occurrences due through {last_now + horizon:%H:%M}Z")
    result = BenchResult(
        config, horizon, first_now, len(planted), inserted_s, lock_plan(first_now + horizon)
    )
    for line in result.lock_plan:
        say(f"lock query: {line}")
    after = cursor
    for k in range(config.ticks):
        now = first_now + k * MINUTE
        window = _in_window(due, after, now + horizon)
        measured = tick(now, horizon)
        measured.due = len(window)
        measured.expansion_seconds = expansion_seconds(by_id, window, after, now + horizon)
        result.ticks.append(measured)
        say(f"tick {k + 1}/{config.ticks} at {now:%H:%M}Z: {measured.line()}")
        after = now + horizon
    repeat_now = first_now + (config.ticks - 1) * MINUTE
    result.repeat = tick(repeat_now, horizon)
    result.repeat.due = 0  # its window was the last tick's: nothing is left in it
    say(f"repeat of the last tick at {repeat_now:%H:%M}Z: {result.repeat.line()}")
    result.concurrent = _concurrent(last_now, horizon, 2)
    result.concurrent_due = len(_in_window(due, after, last_now + horizon))
    for n, measured in enumerate(result.concurrent, 1):
        say(
            f"concurrent tick {n}/2 at {last_now:%H:%M}Z ({result.concurrent_due} due between "
            f"the two): {measured.line()}"
        )
    say("checking PostgreSQL against the schedules …")
    result.check = verify(due)
    return result


def _concurrent(now: datetime, horizon: timedelta, count: int) -> list[Tick]:
    """`count` ticks at once, as two beats (or a redelivered task) would run them."""
    barrier = threading.Barrier(count)
    results: list[Tick] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait()
            results.append(tick(now, horizon))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


@dataclass(frozen=True)
class Target:
    name: str
    ok: bool
    detail: str


def judge(result: BenchResult) -> list[Target]:
    seconds = [t.seconds for t in result.ticks]
    c, repeat = result.check, result.repeat
    counted = [*result.ticks, *result.concurrent, *([repeat] if repeat else [])]
    reported = sum(t.created + t.skipped for t in counted)
    wrong = [t for t in result.ticks if t.created + t.skipped != t.due]
    together = sum(t.created + t.skipped for t in result.concurrent)
    slowest = max(seconds, default=float("inf"))
    return [
        Target(f"tick <= {TARGET_S:g} s", slowest <= TARGET_S, f"max of {len(seconds)} ticks "
               f"{slowest:.3f} s"),
        Target("each tick makes what is due in its window",
               not wrong and together == result.concurrent_due,
               f"{len(wrong)} measured ticks off; the concurrent pair {together} of "
               f"{result.concurrent_due}"),
        Target("a repeated tick makes nothing",
               repeat is not None and repeat.created + repeat.skipped == 0,
               f"{repeat.created + repeat.skipped if repeat else '-'} made"),
        Target("0 parked", not sum(t.parked for t in counted),
               f"{sum(t.parked for t in counted)} campaigns could not be planned"),
        Target("0 duplicates", not c.duplicates, f"{len(c.duplicates)}"),
        Target("0 missing", not c.missing, f"{len(c.missing)}"),
        Target("0 unexpected", not c.unexpected, f"{len(c.unexpected)}"),
        Target("rows = what the ticks report", c.rows == reported,
               f"{c.rows} rows, ticks report {reported}"),
    ]  # fmt: skip


def render(result: BenchResult, max_listed: int = 10) -> str:
    config, c = result.config, result.check
    seconds = [t.seconds for t in result.ticks]
    expansion = [t.expansion_seconds for t in result.ticks]
    due = [t.due or 0 for t in result.ticks]
    lines = [
        "=== campaign materializer ===",
        f"campaigns:        {result.planted} active over {config.orgs} organizations, inserted "
        f"in {result.insert_seconds:.1f} s; recurrences started up to "
        f"{config.max_age_days:g} days before {result.first_now:%Y-%m-%d %H:%M}Z; seed "
        f"{config.seed}",
        f"horizon:          {result.horizon} (CAMPAIGN_HORIZON_S), batch {BATCH}, "
        "one tick a minute",
        f"due per tick:     median {statistics.median(due):g}, min {min(due)}, max {max(due)} "
        "(from the schedules)",
        f"tick wall time:   median {statistics.median(seconds):.3f} s  "
        f"p95 {percentile(seconds, 0.95):.3f} s  max {max(seconds):.3f} s  (n={len(seconds)}, "
        "relay to the broker included)",
        f"  of which expanding the due schedules (re-timed alone): median "
        f"{statistics.median(expansion):.3f} s  max {max(expansion):.3f} s",
        f"ticks together:   locked {sum(t.campaigns for t in result.ticks)} "
        f"campaigns, created {sum(t.created for t in result.ticks)}, skipped "
        f"{sum(t.skipped for t in result.ticks)}",
    ]
    if result.repeat is not None:
        lines.append(f"repeat tick:      {result.repeat.line()}")
    lines.append(f"concurrent pair:  {result.concurrent_due} due (from the schedules)")
    for n, measured in enumerate(result.concurrent, 1):
        lines.append(f"  tick {n}/{len(result.concurrent)}:       {measured.line()}")
    lines += [
        f"occurrences:      {c.expected} due (schedules), {c.rows} rows: "
        + " ".join(f"{k}={v}" for k, v in sorted(c.by_status.items())),
        f"runs:             {c.runs}; run.submitted events {c.events}, sent {c.events_sent}",
    ]
    for reason, n in c.skip_reasons.most_common(4):
        lines.append(f"  skipped {n:>4} x {reason}")
    for name, items in (
        ("DUPLICATES", c.duplicates),
        ("MISSING", c.missing),
        ("UNEXPECTED", c.unexpected),
    ):
        lines.append(f"{name + ':':<17} {len(items)}")
        lines.extend(f"  - {item}" for item in items[:max_listed])
    if max(seconds) > TARGET_S and statistics.median(expansion) > statistics.median(seconds) / 2:
        lines.append(
            "where the time goes: expanding the due campaigns' RRULEs (pure Python, dateutil), "
            "not PostgreSQL; it grows with how long ago a schedule started (--max-age-days)"
        )
    for target in judge(result):
        lines.append(f"{'met   ' if target.ok else 'MISSED'} {target.name}: {target.detail}")
    return "\n".join(lines)


@contextmanager
def services(data_dir: Path, say: Say) -> Iterator[None]:
    """DATABASE_URL / REDIS_URL when set, else embedded ones; the settings, the worker engine
    and the Celery app pointed at them; the database migrated."""
    from briefcast.embedded import EmbeddedServices
    from briefcast.migrate import upgrade

    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    embedded = None
    if not database_url or not redis_url:
        shutil.rmtree(data_dir, ignore_errors=True)
        say("starting embedded " + " and ".join(
            name for name, url in (("PostgreSQL", database_url), ("Redis", redis_url)) if not url
        ) + " …")  # fmt: skip
        embedded = EmbeddedServices(data_dir).start(postgres=not database_url, redis=not redis_url)
        database_url = database_url or embedded.database_url
        redis_url = redis_url or embedded.redis_url
    try:
        os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url)
        get_settings.cache_clear()
        reset_worker_engine()
        configure(app)
        say(f"PostgreSQL {make_url(database_url).render_as_string(hide_password=True)}")
        say(
            f"broker {redacted(app.conf.broker_url)}: the relay sends the runs' events there "
            "(not consumed)"
        )
        upgrade(database_url)
        yield
    finally:
        reset_worker_engine()
        if embedded is not None:
            embedded.stop()


def _campaigns_present() -> int:
    with worker_session() as session:
        return session.scalar(select(func.count()).select_from(Campaign)) or 0


def main(argv: list[str] | None = None) -> int:
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(prog="python -m bench.campaigns", description=__doc__)
    parser.add_argument("--campaigns", type=int, default=defaults.campaigns)
    parser.add_argument("--orgs", type=int, default=defaults.orgs)
    parser.add_argument("--ticks", type=int, default=defaults.ticks, help="measured ticks")
    parser.add_argument("--max-age-days", type=float, default=defaults.max_age_days)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--now", type=datetime.fromisoformat, default=None, help="first tick (UTC); default now"
    )
    parser.add_argument("--data-dir", type=Path, default=Path(".data/bench-campaigns"))
    args = parser.parse_args(argv)
    now = args.now.replace(tzinfo=args.now.tzinfo or UTC) if args.now else None
    config = BenchConfig(args.campaigns, args.orgs, args.ticks, args.max_age_days, args.seed, now)
    with services(args.data_dir, _say):
        present = _campaigns_present()
        if present:
            _say(
                f"the database holds {present} campaigns already; a tick would materialize "
                "them too and the check would count them: give an empty database"
            )
            return 2
        result = run(config)
    print("\n" + render(result), flush=True)
    return 0 if all(t.ok for t in judge(result)) else 1


if __name__ == "__main__":
    sys.exit(main())
