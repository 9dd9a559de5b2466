"""The drill: an isolated stack, many briefs, faults, kills and a broker restart, then an audit."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from briefcast.api.auth import create_token
from briefcast.chaos.audit import SETTLED_RUN_STATUSES, Audit, audit
from briefcast.client import ApiClient
from briefcast.models.posts import Post, PostStatus
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.runs import Run
from briefcast.models.session import sync_url
from briefcast.settings import Settings
from briefcast.stack import Ports, Stack

Say = Callable[[str], None]
PLATFORMS = ("instagram", "linkedin")
WORKER = "worker-io"  # the process that publishes; the one a drill kills
# The publish call of each platform: the one whose failure modes risk a double post.
PUBLISH_PATHS = {"instagram": r"/media_publish$", "linkedin": r"^/rest/posts$"}
DEFAULT_RATES = {"status_500": 0.10, "status_429": 0.05, "commit_then_drop": 0.05}
# Shorter than production so a drill finishes in minutes; the mechanisms are the same.
DRILL_ENV = {
    "PUBLISH_LEASE_S": "20",  # a killed worker's claim comes back after this
    "STUCK_RUN_AFTER_S": "20",  # runs whose messages died with the worker or Redis
}
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
    duration_limit_s: float = 600.0
    kill_every_s: float = 6.0
    max_kills: int | None = None  # None: keep killing every kill_every_s until the end
    redis_restarts: int = 1
    # The broker restarts once this share of the posts has settled (published or failed).
    redis_restart_at: float = 0.3
    seed: int = 1
    rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    data_dir: Path = Path(".data/chaos")
    progress_every_s: float = 3.0


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

    @property
    def ok(self) -> bool:
        return self.audit.ok

    def render(self, max_listed: int = 20) -> str:
        a, c = self.audit, self.config

        def counts(counter: Counter[str] | dict[str, int]) -> str:
            return " ".join(f"{k}={v}" for k, v in sorted(counter.items())) or "-"

        lines = [
            "=== chaos summary ===",
            f"briefs:           {c.briefs} ({c.briefs * len(PLATFORMS)} posts), seed {c.seed}, "
            f"{self.elapsed_s:.1f} s",
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
    shutil.rmtree(data_dir, ignore_errors=True)
    stack = Stack(
        data_dir=data_dir,
        ports=Ports.free(),
        with_flower=False,
        isolated=True,
        ig_quota_total=ig_quota_total,
        extra_env=dict(extra_env or {}),
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
    api = ApiClient(stack.api_url, token)
    with ThreadPoolExecutor(4) as pool:
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
            # The adapter holds a LinkedIn 429 for Retry-After, else 300 s (§3.8 documents no
            # header): a drill sends one so held posts come back in a second.
            spec["retry_after_s"] = 1
        _sandbox(stack, platform, "POST", "chaos", json=spec, timeout=5)


def _supervise(stack: Stack, say: Say) -> list[str]:
    """Restart any child that exited on its own, like a process supervisor would, and name
    it: a crash is a finding the summary reports, not a reason to abandon the drill."""
    crashed = []
    for name, child in list(stack.children.items()):
        if child.poll() is not None:
            say(f"{name} exited by itself with {child.returncode}; restarting it")
            stack.restart_child(name)
            crashed.append(name)
    return crashed


def _worker_ready(stack: Stack, offset: int) -> bool:
    """Whether the worker's log says "ready" after `offset` (where its last start began)."""
    with stack.log_path(WORKER).open("rb") as log:
        log.seek(offset)
        return b" ready." in log.read()


Inspect = Callable[[Session, dict[str, list[dict[str, Any]]]], None]


def run_chaos(config: ChaosConfig, say: Say = print, inspect: Inspect | None = None) -> ChaosReport:
    """Run the drill; `inspect` sees the database and the sandbox posts before the stack
    stops (a test uses it to show the audit catches a doctored duplicate)."""
    started = time.monotonic()
    total_posts = config.briefs * len(PLATFORMS)
    kills = restarts = redis_restarts = 0
    with isolated_stack(
        config.data_dir, say, extra_env=DRILL_ENV, ig_quota_total=max(1000, 10 * total_posts)
    ) as (stack, engine):
        enable_chaos(stack, config)
        submit_briefs(stack, api_token(engine), config.briefs, say)
        next_progress, log_offset = 0.0, 0
        crashes: Counter[str] = Counter()
        next_kill: float | None = None
        while True:
            for name in _supervise(stack, say):
                crashes[name] += 1
                if name == WORKER:
                    log_offset, next_kill = stack.log_path(WORKER).stat().st_size, None
            now = time.monotonic()
            runs, posts = _status_counts(engine)
            settled_runs = sum(n for s, n in runs.items() if s in SETTLED_RUN_STATUSES)
            settled_posts = posts[PostStatus.PUBLISHED] + posts[PostStatus.FAILED]
            done = settled_runs >= config.briefs
            if now >= next_progress or done:
                next_progress = now + config.progress_every_s
                say(
                    f"{now - started:6.1f}s runs: "
                    + " ".join(f"{k}={v}" for k, v in sorted(runs.items()))
                    + " | posts: "
                    + " ".join(f"{k}={v}" for k, v in sorted(posts.items()))
                    + f" | kills={kills} redis_restarts={redis_restarts}"
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
            time.sleep(0.5)
        faults = {p: _sandbox(stack, p, "GET", "chaos", timeout=5)["counts"] for p in PLATFORMS}
        held = {p: _sandbox(stack, p, "GET", "posts", timeout=10) for p in PLATFORMS}
        with Session(engine) as session:
            result = audit(session, held)
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
    )
