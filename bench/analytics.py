"""Benchmark the analytics queries over 1,000,000 metric snapshots.

Usage: .venv/bin/python -m bench.analytics [--posts 170000] [--orgs 6] [--iterations 30]
       [--database-url URL] [--data-dir .data/bench-analytics]
Short: .venv/bin/python -m bench.analytics --posts 20000 --iterations 10

1. Starts its own embedded PostgreSQL in --data-dir (wiped first), or uses --database-url (an
   empty database: its schema is dropped). Changes no server setting (the queries turn JIT
   off and force custom plans for their own transaction, as in production).
2. Migrates to 0007 (the schema before the analytics indexes) and loads, with
   generate_series in one transaction: --orgs organizations with five campaigns each; --posts
   posts (half Instagram, half LinkedIn, two per run; 60 % of briefs in a campaign) published
   over the last 365 days with a daily rhythm; six snapshots per post (+15 min, +1 h, +6 h,
   +24 h, +72 h, +7 d), each with every metric its platform gives, growing with the offset;
   the ones not due yet are uncollected and 1 % of the rest closed with an error.
3. Migrates to head (0008 adds the analytics indexes; 0010 backfills each post's latest
   reading from its snapshots, 0011 its run's organization, 0012 its campaign and 0013 the
   reading's numbers in columns, all as in production), VACUUM ANALYZE, and times, for the first
   organization, each grouping (day, post, campaign, weekday x hour, in Europe/Berlin) over
   the last 30 days and the last 365 days (the post grouping: the API's default page of 100,
   newest first, and its last page), and `post_series` of random posts of it: through
   the product's `grouped_sync` / `post_series_sync`, as the report and workers call them
   (the API's async `grouped` executes the same statement), --iterations times each after
   two warm-up runs. Prints p50/p95 per query and the plan of the slowest.

Target (exit 1 on a miss): every query's p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench._support import percentile
from briefcast.models.session import reset_worker_engine, worker_engine, worker_session
from briefcast.pipeline.analytics.queries import (
    DEFAULT_LIMIT,
    Filter,
    Grouping,
    grouped_sync,
    post_series_sync,
)
from briefcast.settings import get_settings

TARGET_MS = 100.0
OFFSETS_S = (900, 3600, 21600, 86400, 259200, 604800)
ZONE = "Europe/Berlin"


def _say(message: str) -> None:
    print(f"[bench.analytics] {message}", flush=True)


# One statement per table, run in order; :now, :posts, :orgs are bound. Ids are derived from
# row numbers (md5 -> uuid) so every table can refer to its parents without a lookup.
LOAD = (
    """INSERT INTO organizations (id, slug, name, created_at)
       SELECT md5('org' || o)::uuid, 'bench-org-' || o, 'Bench org ' || o, :now
       FROM generate_series(0, :orgs - 1) o""",
    """INSERT INTO campaigns (id, organization_id, name, timezone, schedule, brief_template,
           content_mode, cooldown_days, lateness_s, status, materialized_through, created_at)
       SELECT md5('campaign' || c)::uuid, md5('org' || (c % :orgs))::uuid, 'Campaign ' || c,
              'Europe/Berlin', '{"kind": "slots", "slots": []}', '{}', 'in_order', 0, 3600,
              'paused', :now, :now
       FROM generate_series(0, :orgs * 5 - 1) c""",
    # Run r: organization r % orgs; published at a random time over the year, more often in
    # the day than at night.
    """CREATE TEMP TABLE bench_runs AS
       SELECT r, md5('org' || (r % :orgs))::uuid AS org_id,
              md5('run' || r)::uuid AS run_id, md5('brief' || r)::uuid AS brief_id,
              CASE WHEN r % 10 < 6 THEN md5('campaign' || (r % :orgs + :orgs * (r % 5)))::uuid
              END AS campaign_id,
              date_trunc('day', :now - make_interval(days => (random() * 364)::int))
                + make_interval(hours => 6 + (random() * 15)::int,
                                mins => (random() * 59)::int) AS published_at
       FROM generate_series(0, :posts / 2 - 1) r""",
    """INSERT INTO briefs (id, organization_id, campaign_id, variants, template, topic,
           key_points, brand_voice, audience, brand_color, platforms, request_hash, created_at)
       SELECT brief_id, org_id, campaign_id, 1, 'headline', 'Bench post ' || r, '[]', 'plain',
              'everyone', '#000000', '["instagram", "linkedin"]', repeat('0', 64),
              published_at - interval '1 hour'
       FROM bench_runs""",
    """INSERT INTO runs (id, brief_id, organization_id, status, copy_feedback, regenerations,
           created_at, updated_at)
       SELECT run_id, brief_id, org_id, 'published', '[]', 0, published_at - interval '1 hour',
              published_at
       FROM bench_runs""",
    """INSERT INTO posts (id, run_id, platform, status, hashtags, copy_variants,
           publish_attempts, reconcile_attempts, publish_progress, published_at, created_at,
           updated_at)
       SELECT md5('post' || r || p)::uuid, run_id, p, 'published', '[]', '[]', 1, 0, '{}',
              published_at, published_at - interval '1 hour', published_at
       FROM bench_runs, unnest(ARRAY['instagram', 'linkedin']) p""",
    # Each post's audience a = 100..5,000; every later reading larger (g = 0.2 .. 1.0).
    """INSERT INTO metric_snapshots (id, post_id, offset_s, due_at, collected_at, metrics,
           attempts, error)
       SELECT gen_random_uuid(), post_id, o, due,
              CASE WHEN due <= :now THEN due + interval '30 seconds' END,
              CASE WHEN due > :now THEN '{}'::jsonb
                   WHEN p = 'instagram' THEN jsonb_build_object(
                     'reach', (a * g)::int, 'views', (a * g * 1.6)::int,
                     'likes', (a * g * 0.05)::int, 'comments', (a * g * 0.006)::int,
                     'saved', (a * g * 0.01)::int, 'shares', (a * g * 0.008)::int)
                   ELSE jsonb_build_object(
                     'impressions', (a * g)::int, 'unique_impressions', (a * g * 0.8)::int,
                     'clicks', (a * g * 0.02)::int, 'likes', (a * g * 0.015)::int,
                     'comments', (a * g * 0.003)::int, 'shares', (a * g * 0.002)::int)
              END,
              CASE WHEN due <= :now THEN 1 ELSE 0 END,
              CASE WHEN due <= :now AND random() < 0.01 THEN 'HTTP 500' END
       FROM (
         SELECT md5('post' || r || p)::uuid AS post_id, p, o,
                published_at + make_interval(secs => o) AS due,
                100 + (abs(hashtext(r || p)) % 4900) AS a,
                0.2 + 0.8 * ln(o) / ln(604800) AS g
         FROM bench_runs, unnest(ARRAY['instagram', 'linkedin']) p,
              unnest(ARRAY[900, 3600, 21600, 86400, 259200, 604800]) o
       ) s""",
    "DROP TABLE bench_runs",
)


def load(posts: int, orgs: int, now: datetime) -> None:
    started = time.perf_counter()
    with worker_session() as session:
        for statement in LOAD:
            session.execute(text(statement), {"now": now, "posts": posts, "orgs": orgs})
    with worker_session() as session:
        counts = {
            table: session.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            for table in ("briefs", "runs", "posts", "metric_snapshots")
        }
        collected = session.scalar(
            text("SELECT count(*) FROM metric_snapshots WHERE collected_at IS NOT NULL")
        )
    _say(
        f"loaded in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{n:,} {t}" for t, n in counts.items())
        + f" ({collected:,} collected)"
    )


def analyze() -> None:
    with worker_session() as session:
        session.execute(text("ANALYZE"))


def vacuum_analyze() -> None:
    with worker_engine().connect() as conn:  # VACUUM runs outside a transaction
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def _org() -> uuid.UUID:
    with worker_session() as session:
        return uuid.UUID(session.scalar(text("SELECT md5('org0')::uuid::text")))


def _sample_posts(org_id: uuid.UUID, n: int, seed: int = 1) -> list[uuid.UUID]:
    with worker_session() as session:
        ids = session.scalars(
            text("SELECT id FROM posts WHERE organization_id = :org ORDER BY id LIMIT 2000"),
            {"org": org_id},
        ).all()
    return random.Random(seed).sample(list(ids), min(n, len(ids)))


Query = tuple[str, Callable[[], int]]


def queries(org_id: uuid.UUID, now: datetime) -> list[Query]:
    out: list[Query] = []
    for days in (30, 365):
        where = Filter(org_id, now - timedelta(days=days), now, timezone=ZONE)
        for grouping in Grouping:

            def grouped(where: Filter = where, grouping: Grouping = grouping) -> int:
                with worker_session() as session:
                    return len(grouped_sync(session, where, grouping, limit=DEFAULT_LIMIT))

            out.append((f"grouped {grouping.value:<12} {days:>3} days", grouped))

        # The post grouping pages (the API's default page); its last page is the deepest read.
        with worker_session() as session:
            total = len(grouped_sync(session, where, Grouping.POST))

        def last_page(where: Filter = where, offset: int = max(0, total - DEFAULT_LIMIT)) -> int:
            with worker_session() as session:
                return len(
                    grouped_sync(session, where, Grouping.POST, limit=DEFAULT_LIMIT, offset=offset)
                )

        out.append((f"grouped post, last page {days:>3} days", last_page))
    sample = iter(_sample_posts(org_id, 10_000))

    def series() -> int:
        with worker_session() as session:
            found = post_series_sync(session, org_id, next(sample))
        return len(found.readings) if found else 0

    out.append(("post_series  (a random post)", series))
    return out


def measure(runs: list[Query], iterations: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for name, call in runs:
        for _ in range(2):
            call()
        seconds = []
        rows = 0
        for _ in range(iterations):
            started = time.perf_counter()
            rows = call()
            seconds.append(time.perf_counter() - started)
        timings[name] = seconds
        p50, p95 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.95) * 1000
        mark = "" if p95 <= TARGET_MS else "  MISSED"
        _say(f"{name}: p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({rows} rows){mark}")
    return timings


def explain(org_id: uuid.UUID, now: datetime) -> list[str]:
    """The plan of the year's day grouping (the widest read), as executed."""
    from briefcast.models.repositories.analytics import grouped_statement

    stmt = grouped_statement(
        organization_id=org_id,
        since=now - timedelta(days=365),
        until=now,
        platform=None,
        campaign_id=None,
        timezone=ZONE,
        grouping="day",
    )
    with worker_session() as session:
        sql = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        return list(session.scalars(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")))


@contextmanager
def database(url: str | None, data_dir: Path) -> Iterator[str]:
    if url:
        yield url
        return
    from briefcast.embedded import EmbeddedServices

    shutil.rmtree(data_dir, ignore_errors=True)
    _say(f"starting an embedded PostgreSQL in {data_dir} …")
    embedded = EmbeddedServices(data_dir).start(redis=False)
    try:
        yield embedded.database_url
    finally:
        embedded.stop()


def _use(url: str) -> None:
    import os

    import psycopg

    from briefcast.models.session import sync_url

    plain = sync_url(url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
        version = conn.execute("SHOW server_version").fetchone()
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_worker_engine()
    _say(
        f"PostgreSQL {version[0] if version else '?'}, server settings unchanged "
        "(the analytics reads set jit = off and plan_cache_mode = force_custom_plan "
        "for their own transaction)"
    )


def main(argv: list[str] | None = None) -> int:
    from briefcast.migrate import upgrade

    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__)
    parser.add_argument("--posts", type=int, default=170_000)
    parser.add_argument("--orgs", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--database-url", default=None, help="an empty database (wiped)")
    parser.add_argument("--data-dir", type=Path, default=Path(".data/bench-analytics"))
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    with database(args.database_url, args.data_dir.resolve()) as url:
        _use(url)
        upgrade(url, "0007")
        _say(
            f"loading {args.posts:,} posts x {len(OFFSETS_S)} snapshots over {args.orgs} "
            "organizations and 365 days …"
        )
        load(args.posts, args.orgs, now)
        analyze()
        org_id = _org()
        started = time.perf_counter()
        upgrade(url, "head")
        # The backfills of 0010 to 0013 rewrite every post: VACUUM as autovacuum would after
        # them, so the reads do not wade through dead row versions.
        vacuum_analyze()
        _say(f"migrated to head (analytics indexes built) in {time.perf_counter() - started:.1f} s")
        _say(f"with the analytics indexes, {args.iterations} iterations each:")
        timings = measure(queries(org_id, now), args.iterations)
        for line in explain(org_id, now):
            _say(f"  plan: {line}")
        reset_worker_engine()
    missed = [n for n, s in timings.items() if percentile(s, 0.95) * 1000 > TARGET_MS]
    worst = max(percentile(s, 0.95) for s in timings.values()) * 1000
    if missed:
        _say(f"MISSED p95 <= {TARGET_MS:g} ms: {', '.join(missed)} (worst p95 {worst:.1f} ms)")
        return 1
    _say(f"met: every query's p95 <= {TARGET_MS:g} ms (worst p95 {worst:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
