"""The drill: an isolated stack, many briefs and a few campaigns, faults, kills of the I/O
worker and of beat, a Redis restart, then an audit.

The broker is the stack's embedded Redis, or RabbitMQ when `ChaosConfig.broker_url` names one
(README: "Choosing a broker"). RabbitMQ is a shared server here, so the drill deletes its
task queues first and never restarts it; Redis, still the result backend, sessions and
cache, is restarted all the same.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from briefcast.api.auth import create_token
from briefcast.chaos import campaigns as drill_campaigns
from briefcast.chaos.audit import SETTLED_RUN_STATUSES, Audit, audit
from briefcast.chaos.campaigns import CampaignAudit, DrillCampaign
from briefcast.client import ApiClient
from briefcast.models.posts import Post, PostStatus
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.runs import Run
from briefcast.models.session import sync_url
from briefcast.pipeline.broker import delete_queues, is_amqp, redacted
from briefcast.pipeline.queues import TaskQueue
from briefcast.settings import Settings
from briefcast.stack import Ports, Stack, clear_leftovers

Say = Callable[[str], None]
PLATFORMS = ("instagram", "linkedin")
WORKER = "worker-io"  # the process that publishes; the one a drill kills
BEAT = "beat"  # killed once while campaigns have occurrences to come, then started again
# The publish call of each platform: the one whose failure modes risk a double post.
PUBLISH_PATHS = {"instagram": r"/media_publish$", "linkedin": r"^/rest/posts$"}
DEFAULT_RATES = {"status_500": 0.10, "status_429": 0.05, "commit_then_drop": 0.05}
# Shorter than production so a drill finishes in minutes; the mechanisms are the same.
DRILL_ENV = {
    "PUBLISH_LEASE_S": "20",  # a killed worker's claim comes back after this
    "STUCK_RUN_AFTER_S": "20",  # runs whose messages died with the worker or Redis
}
# Drills and benchmarks post every brief and campaign from one address (127.0.0.1) and
# thousands of briefs per organization: the product's limits (10 a minute per IP, 5000 briefs
# per organization per day) would answer them 429. Their stacks count with these instead, so
# the limiter still runs (its Redis round trip is part of what the ingress benchmark measures).
LOAD_LIMITS = {"RATE_LIMIT_CONTENT": "1000000/minute", "BRIEFS_PER_ORG_PER_DAY": "100000000"}


def load_limits(extra_env: dict[str, str] | None, say: Say) -> dict[str, str]:
    """LOAD_LIMITS under `extra_env` (which wins), each one said as a changed setting."""
    env = {**LOAD_LIMITS, **(extra_env or {})}
    for name in LOAD_LIMITS:
        default = Settings.model_fields[name.lower()].default
        say(
            f"setting changed: {name} = {env[name]} (the product's default is {default}) "
            "because a drill or benchmark posts everything from 127.0.0.1, thousands of briefs "
            "per organization"
        )
    return env


BASE_BRIEFS: tuple[dict[str, Any], ...] = (
    {
        "topic": "Our autumn sneaker drop is here",
        "key_points": ["Made from 80% recycled ocean plastic", "Free returns for 60 days"],
        "brand_voice": "playful, confident, eco-minded",
        "audience": "urban runners aged 20 to 35",
        "brand_color": "#2E7D32",
    },
    {
        "topic": "We are hiring platform engineers",
        "key_points": ["Remote-first team across Europe", "A generous learning budget"],
        "brand_voice": "warm, direct, professional",
        "audience": "senior backend engineers",
        "brand_color": "#1F4E79",
    },
    {
        "topic": "A new neighbourhood café opens on Saturday",
        "key_points": ["Single-origin coffee roasted in-house", "Fresh pastries every morning"],
        "brand_voice": "friendly, cosy, local",
        "audience": "neighbours and remote workers nearby",
        "brand_color": "#F4C542",
    },
)


@dataclass
class ChaosConfig:
    briefs: int = 200
    # A cap, not a target: the campaigns' last occurrence alone is ~6 min after the briefs.
    duration_limit_s: float = 900.0
    kill_every_s: float = 6.0
    max_kills: int | None = None  # None: keep killing every kill_every_s until the end
    redis_restarts: int = 1
    # The broker restarts once this share of the posts has settled (published or failed).
    redis_restart_at: float = 0.3
    seed: int = 1
    rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    data_dir: Path = Path(".data/chaos")
    progress_every_s: float = 3.0
    # Campaigns created through the API once the briefs are in, each with this many
    # occurrences a minute apart (0: none, and beat is left alone).
    campaigns: int = 3
    campaign_occurrences: int = 3
    # CAMPAIGN_HORIZON_S for the drill's stack (the product's is 300 s): with 5 minutes, the
    # API's signal at creation would materialize every occurrence at once and beat would have
    # nothing left to do; with a minute, later occurrences wait for later beat ticks.
    campaign_horizon_s: int = 60
    # Beat is SIGKILLed this long after the campaigns are created, and started again after
    # `beat_down_s` (more than its 60 s interval: at least one tick is missed).
    beat_kill_after_s: float = 75.0
    beat_down_s: float = 75.0
    # RabbitMQ as the broker (amqp://…; its task queues are deleted first); None: the
    # embedded Redis.
    broker_url: str | None = None


@dataclass
class ChaosReport:
    config: ChaosConfig
    audit: Audit
    elapsed_s: float
    kills: int
    worker_restarts: int
    redis_restarts: int
    faults: dict[str, dict[str, int]]
    # Children that exited by themselves (and were restarted), by name.
    crashes: dict[str, int] = field(default_factory=dict)
    campaigns: CampaignAudit | None = None
    beat: str = "left alone"
    broker: str = "redis (embedded, restarted with Redis)"

    @property
    def ok(self) -> bool:
        return self.audit.ok and (self.campaigns is None or self.campaigns.ok)

    def render(self, max_listed: int = 20) -> str:
        a, c = self.audit, self.config

        def counts(counter: Counter[str] | dict[str, int]) -> str:
            return " ".join(f"{k}={v}" for k, v in sorted(counter.items())) or "-"

        lines = [
            "=== chaos summary ===",
            f"briefs:           {c.briefs} ({c.briefs * len(PLATFORMS)} posts), seed {c.seed}, "
            f"{self.elapsed_s:.1f} s",
            f"broker:           {self.broker}",
            f"runs by status:   {counts(a.runs_by_status)}",
            f"posts by status:  {counts(a.posts_by_status)}",
            f"posts published:  {a.posts_by_status.get(PostStatus.PUBLISHED, 0)} "
            f"(sandboxes hold {counts(a.sandbox_posts)})",
            f"attempts:         {counts(a.attempts_by_outcome)}",
            f"kills:            {self.kills} SIGKILL of {WORKER}",
            f"restarts:         {WORKER}={self.worker_restarts} redis={self.redis_restarts}",
            f"crashes:          {counts(self.crashes)} (exited by themselves, restarted)",
        ]
        if a.failure_reasons:
            lines.append("not published, why (top 6):")
        for reason, n in a.failure_reasons.most_common(6):
            lines.append(f"  {n:>4} x {reason}")
        for platform, injected in self.faults.items():
            lines.append(f"faults {platform + ':':<10} {counts(injected)}")
        for name, items in (
            ("LOST", a.lost),
            ("DUPLICATES", a.duplicates),
            ("MISMATCHES", a.mismatches),
        ):
            lines.append(f"{name + ':':<17} {len(items)}")
            lines.extend(f"  - {item}" for item in items[:max_listed])
            if len(items) > max_listed:
                lines.append(f"  … and {len(items) - max_listed} more")
        if self.campaigns is not None:
            lines.extend(drill_campaigns.render(self.campaigns, self.beat, max_listed))
        lines.append("PASS" if self.ok else "FAIL")
        return "\n".join(lines)


def drill_brief(i: int) -> dict[str, Any]:
    """A distinct brief per index: distinct topics make distinct captions, so neither
    LinkedIn's duplicate detection nor caption matching confuses two briefs."""
    base = BASE_BRIEFS[i % len(BASE_BRIEFS)]
    return {**base, "topic": f"{base['topic']}, update {i + 1}", "platforms": list(PLATFORMS)}


@contextmanager
def isolated_stack(
    data_dir: Path,
    say: Say,
    *,
    extra_env: dict[str, str] | None = None,
    ig_quota_total: int = 100_000,
    io_threads: int | None = None,
    io_workers: int | None = None,
    sandbox_per_service: bool = False,
    sandbox_command: list[str] | None = None,
) -> Iterator[tuple[Stack, Engine]]:
    """A wiped data dir, the whole stack on its own embedded services, and an engine on its
    database; everything started is stopped on the way out, whatever happened."""
    clear_leftovers(data_dir, say)  # a killed drill's processes, before its folder goes
    shutil.rmtree(data_dir, ignore_errors=True)
    stack = Stack(
        data_dir=data_dir,
        ports=Ports.free(),
        with_flower=False,
        isolated=True,
        ig_quota_total=ig_quota_total,
        extra_env=load_limits(extra_env, say),
        sandbox_per_service=sandbox_per_service,
        sandbox_command=sandbox_command,
    )
    # Unset: the product's defaults (`briefcast dev` runs the same).
    if io_threads is not None:
        stack.io_threads = io_threads
    if io_workers is not None:
        stack.io_workers = io_workers
    engine: Engine | None = None
    try:
        stack.start(say=say)
        engine = create_engine(sync_url(stack.env["DATABASE_URL"]), pool_pre_ping=True)
        yield stack, engine
    except BaseException:
        for name in stack.children:
            log = stack.log_path(name)
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-15:]
                say("\n".join([f"--- {name} log (last lines) ---", *tail]))
        raise
    finally:
        if engine is not None:
            engine.dispose()
        say("stopping the stack …")
        stack.stop()


def api_token(engine: Engine, org_slug: str = "chaos") -> str:
    """The organization and a token for it, without touching this process's settings cache.

    The JWT secret comes from the same environment the stack's API reads.
    """
    with Session(engine) as session, session.begin():
        org_id = ensure_organization(session, org_slug, org_slug.title())
    return create_token(Settings(), org_id, subject=f"chaos:{org_slug}")


def submit_briefs(stack: Stack, token: str, count: int, say: Say) -> list[str]:
    with ApiClient(stack.api_url, token) as api, ThreadPoolExecutor(4) as pool:
        accepted = list(pool.map(lambda i: api.submit(drill_brief(i))["run_id"], range(count)))
    say(f"submitted {len(accepted)} briefs")
    return accepted


def _status_counts(engine: Engine) -> tuple[Counter[str], Counter[str]]:
    with Session(engine) as session:
        runs = session.execute(select(Run.status, func.count()).group_by(Run.status)).all()
        posts = session.execute(select(Post.status, func.count()).group_by(Post.status)).all()
    return Counter(dict(runs)), Counter(dict(posts))


def _sandbox(stack: Stack, platform: str, method: str, path: str, **kw: Any) -> Any:
    response = httpx.request(method, f"{stack.sandbox_url(platform)}/_sandbox/{path}", **kw)
    response.raise_for_status()
    return response.json()


def enable_chaos(stack: Stack, config: ChaosConfig) -> None:
    for offset, platform in enumerate(PLATFORMS):
        spec: dict[str, Any] = {
            "path": PUBLISH_PATHS[platform],
            "method": "POST",
            "rates": config.rates,
            "seed": config.seed + offset,
        }
        if platform == "linkedin":
            # The adapter holds a LinkedIn 429 for Retry-After, else 300 s (docs/contracts §3.8: no
            # header): a drill sends one so held posts come back in a second.
            spec["retry_after_s"] = 1
        _sandbox(stack, platform, "POST", "chaos", json=spec, timeout=5)


def _supervise(stack: Stack, say: Say, down: frozenset[str] = frozenset()) -> list[str]:
    """Restart any child that exited on its own, like a process supervisor would, and name
    it: a crash is a finding the summary reports, not a reason to abandon the drill. The
    children in `down` were stopped on purpose and stay down."""
    crashed = []
    for name, child in list(stack.children.items()):
        if name not in down and child.poll() is not None:
            say(f"{name} exited by itself with {child.returncode}; restarting it")
            stack.restart_child(name)
            crashed.append(name)
    return crashed


def _worker_ready(stack: Stack, offset: int) -> bool:
    """Whether the worker's log says "ready" after `offset` (where its last start began)."""
    with stack.log_path(WORKER).open("rb") as log:
        log.seek(offset)
        return b" ready." in log.read()


@dataclass
class BeatOutage:
    """Beat SIGKILLed once at `kill_at` (monotonic; None: never) and started again `down_s`
    later: the ticks it misses meanwhile must be made up by the ones after its restart."""

    down_s: float
    kill_at: float | None = None
    killed: float | None = None
    restarted: float | None = None
    restarted_wall: datetime | None = None  # to compare with rows' created_at

    @property
    def down(self) -> frozenset[str]:
        """The children a supervisor must not restart: beat, while it is down on purpose."""
        return (
            frozenset({BEAT}) if self.killed is not None and self.restarted is None else frozenset()
        )

    @property
    def over(self) -> bool:
        return self.kill_at is None or self.restarted is not None

    def step(self, stack: Stack, now: float, say: Say) -> None:
        if self.kill_at is not None and self.killed is None and now >= self.kill_at:
            child = stack.children[BEAT]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(15)
            self.killed = now
            say(f"SIGKILL {BEAT}; it stays down for {self.down_s:.0f} s")
        elif (
            self.killed is not None and self.restarted is None and now >= self.killed + self.down_s
        ):
            stack.restart_child(BEAT)  # its process is gone already: this starts it again
            self.restarted, self.restarted_wall = now, datetime.now(UTC)
            say(f"{BEAT} started again after {now - self.killed:.0f} s down")

    def describe(self, started: float) -> str:
        if self.killed is None:
            return "never killed (the drill ended first)"
        if self.restarted is None:
            return f"SIGKILL at {self.killed - started:.0f} s, never started again"
        return (
            f"SIGKILL at {self.killed - started:.0f} s, down {self.restarted - self.killed:.0f} s, "
            f"started again at {self.restarted - started:.0f} s"
        )


def describe_broker(broker_url: str | None) -> str:
    if broker_url is None:
        return "redis (embedded, restarted with Redis)"
    return (
        f"rabbitmq {redacted(broker_url)} (not restarted: a shared server, whose restart "
        "would stop everyone's queues; Redis, the result backend and cache, is restarted)"
    )


def _use_broker(config: ChaosConfig, env: dict[str, str], say: Say) -> None:
    if config.broker_url is None:
        say("broker: the stack's embedded Redis (db 1)")
        return
    if not is_amqp(config.broker_url):
        raise ValueError(f"--broker must be an amqp:// URL, not {redacted(config.broker_url)}")
    say(f"broker: {describe_broker(config.broker_url)}")
    # Tasks an earlier drill left in a queue would run against this drill's fresh database.
    delete_queues(config.broker_url, [q.value for q in TaskQueue])
    say("broker: deleted the task queues left from before (they are declared afresh)")
    env["BROKER_URL"] = config.broker_url


def _drill_env(config: ChaosConfig, say: Say) -> dict[str, str]:
    env = dict(DRILL_ENV)
    _use_broker(config, env, say)
    if config.campaigns:
        # ISO 8601: pydantic reads a timedelta from a string only in that form (or HH:MM:SS).
        env["CAMPAIGN_HORIZON_S"] = str(config.campaign_horizon_s)
        say(
            f"setting changed: CAMPAIGN_HORIZON_S={config.campaign_horizon_s} (the product's "
            "default is 300 s), so that the campaigns' later occurrences are materialized by "
            "beat ticks after beat's restart, not all at once when the API creates them"
        )
    return env


Inspect = Callable[[Session, dict[str, list[dict[str, Any]]]], None]


def run_chaos(config: ChaosConfig, say: Say = print, inspect: Inspect | None = None) -> ChaosReport:
    """Run the drill; `inspect` sees the database and the sandbox posts before the stack
    stops (a test uses it to show the audit catches a doctored duplicate)."""
    started = time.monotonic()
    total_posts = config.briefs * len(PLATFORMS)
    kills = restarts = redis_restarts = 0
    beat = BeatOutage(config.beat_down_s)
    campaigns: list[DrillCampaign] = []
    with isolated_stack(
        config.data_dir,
        say,
        extra_env=_drill_env(config, say),
        ig_quota_total=max(1000, 10 * total_posts),
    ) as (stack, engine):
        enable_chaos(stack, config)
        token = api_token(engine)
        submit_briefs(stack, token, config.briefs, say)
        if config.campaigns:
            campaigns = drill_campaigns.create_campaigns(
                stack.api_url, token, config.campaigns, config.campaign_occurrences, say
            )
            beat.kill_at = time.monotonic() + config.beat_kill_after_s
        plan = drill_campaigns.planned(campaigns, datetime.now(UTC) + timedelta(days=1))
        last_due = max((at for _, at in plan), default=None)
        next_progress, log_offset = 0.0, 0
        crashes: Counter[str] = Counter()
        next_kill: float | None = None
        while True:
            for name in _supervise(stack, say, beat.down):
                crashes[name] += 1
                if name == WORKER:
                    log_offset, next_kill = stack.log_path(WORKER).stat().st_size, None
            beat.step(stack, time.monotonic(), say)
            now = time.monotonic()
            runs, posts = _status_counts(engine)
            settled_runs = sum(n for s, n in runs.items() if s in SETTLED_RUN_STATUSES)
            settled_posts = posts[PostStatus.PUBLISHED] + posts[PostStatus.FAILED]
            # Every occurrence past and materialized, so every campaign run is counted too.
            rows = drill_campaigns.materialized(engine, campaigns) if campaigns else 0
            campaigns_done = last_due is None or (
                datetime.now(UTC) > last_due and rows >= len(plan) and beat.over
            )
            total_runs = sum(runs.values())
            done = campaigns_done and total_runs >= config.briefs and settled_runs >= total_runs
            if now >= next_progress or done:
                next_progress = now + config.progress_every_s
                say(
                    f"{now - started:6.1f}s runs: "
                    + " ".join(f"{k}={v}" for k, v in sorted(runs.items()))
                    + " | posts: "
                    + " ".join(f"{k}={v}" for k, v in sorted(posts.items()))
                    + f" | kills={kills} redis_restarts={redis_restarts}"
                    + (f" | occurrences {rows}/{len(plan)}" if plan else "")
                )
            if done:
                break
            if now - started > config.duration_limit_s:
                say(f"time limit of {config.duration_limit_s:.0f} s reached")
                break
            # Kills start once publishing has: that is where a crash can double-post. The
            # interval counts from the worker being ready again (a start takes seconds here),
            # or a worker killed while still starting would never take a task.
            publishing = sum(posts[s] for s in PostStatus if s not in ("pending", "scheduled"))
            kills_left = config.max_kills is None or kills < config.max_kills
            if next_kill is None and _worker_ready(stack, log_offset):
                next_kill = now + config.kill_every_s
            if publishing and kills_left and next_kill is not None and now >= next_kill:
                log_offset = stack.log_path(WORKER).stat().st_size
                stack.restart_child(WORKER)
                kills += 1
                restarts += 1
                next_kill = None
                say(f"SIGKILL {WORKER} (#{kills}), restarted")
            if (
                redis_restarts < config.redis_restarts
                and settled_posts >= config.redis_restart_at * total_posts
            ):
                stack.restart_redis()
                redis_restarts += 1
                say(f"Redis stopped and started again on the same port (#{redis_restarts})")
                if config.broker_url is not None:
                    say(f"broker not restarted: {describe_broker(config.broker_url)}")
            time.sleep(0.5)
        faults = {p: _sandbox(stack, p, "GET", "chaos", timeout=5)["counts"] for p in PLATFORMS}
        held = {p: _sandbox(stack, p, "GET", "posts", timeout=10) for p in PLATFORMS}
        with Session(engine) as session:
            result = audit(session, held)
            campaign_audit = (
                drill_campaigns.audit_campaigns(
                    session, campaigns, datetime.now(UTC), result.matches, beat.restarted_wall
                )
                if campaigns
                else None
            )
            if inspect is not None:
                inspect(session, held)
    return ChaosReport(
        config=config,
        audit=result,
        elapsed_s=time.monotonic() - started,
        kills=kills,
        worker_restarts=restarts,
        redis_restarts=redis_restarts,
        faults=faults,
        crashes=dict(crashes),
        campaigns=campaign_audit,
        beat=beat.describe(started),
        broker=describe_broker(config.broker_url),
    )
