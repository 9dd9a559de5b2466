"""What `bench.e2e` measured, the targets it is judged by, and the summary it prints."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench._ingress import LoadResult

TARGET_BRIEFS_PER_S = 12.0
TARGET_RATIO = 0.4  # paused ingress req/s over hello-world req/s
TARGET_PAUSED_P95_MS = 50.0
TARGET_DRAIN_P95_MS = 200.0
TARGET_SOLO_S = 10.0
TARGET_FAIRNESS = 1.5  # the last organization's finish over the mean finish
LISTED = 10


@dataclass
class E2EConfig:
    briefs: int = 1000
    orgs: int = 20
    ingress_requests: int = 2000
    warmup: int = 200  # untimed requests to each server first (pools, first-use imports)
    timeout_s: float = 600.0
    data_dir: Path = Path(".data/bench-e2e")
    progress_every_s: float = 3.0


@dataclass
class E2EResult:
    config: E2EConfig
    paused: LoadResult  # the ingress with every consumer cancelled
    hello: LoadResult  # the hello-world app, same client and server
    burst: LoadResult  # the burst's POSTs, while the pipeline drains
    accepted: int  # burst briefs answered 202
    complete: int  # burst briefs with every post published
    span_s: float | None  # first POST → last publish of a complete burst brief
    org_finish_s: dict[str, float | None]  # None: not every brief of it was published
    solo_delay_s: float | None  # accept → its last post published; None: not published
    cpu_s_per_brief: dict[str, float]
    runs_by_status: Counter[str] = field(default_factory=Counter)  # burst and solo
    posts_by_status: Counter[str] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def briefs_per_s(self) -> float:
        return self.complete / self.span_s if self.span_s else 0.0


@dataclass
class Target:
    name: str
    met: bool
    got: str


def _finish_stats(result: E2EResult) -> tuple[float, float, float] | None:
    """(min, mean, max) of the organizations' finish times; None unless every one finished."""
    times = list(result.org_finish_s.values())
    if not times or any(t is None for t in times):
        return None
    done = [t for t in times if t is not None]
    return min(done), statistics.fmean(done), max(done)


def judge(result: E2EResult) -> list[Target]:
    """Every target, met or not: speed and fairness are the benchmark's, never a test's."""
    paused, hello, burst = result.paused, result.hello, result.burst
    ratio = paused.rps / hello.rps if hello.rps else 0.0
    finish = _finish_stats(result)
    fairness = finish[2] / finish[1] if finish and finish[1] > 0 else None
    solo = result.solo_delay_s
    return [
        Target(
            f"end to end >= {TARGET_BRIEFS_PER_S:g} briefs/s",
            result.briefs_per_s >= TARGET_BRIEFS_PER_S,
            f"{result.briefs_per_s:.1f} briefs/s",
        ),
        Target("0 duplicates", not result.duplicates, str(len(result.duplicates))),
        Target("0 lost", not result.lost, str(len(result.lost))),
        Target(
            f"paused ingress >= {TARGET_RATIO:g} x hello-world",
            ratio >= TARGET_RATIO,
            f"{ratio:.2f} x",
        ),
        Target(
            f"paused ingress p95 <= {TARGET_PAUSED_P95_MS:g} ms",
            paused.p95_ms <= TARGET_PAUSED_P95_MS,
            f"{paused.p95_ms:.1f} ms",
        ),
        Target(
            f"ingress p95 during the drain <= {TARGET_DRAIN_P95_MS:g} ms",
            burst.p95_ms <= TARGET_DRAIN_P95_MS,
            f"{burst.p95_ms:.1f} ms",
        ),
        Target(
            f"solo brief published <= {TARGET_SOLO_S:g} s after accept",
            solo is not None and solo <= TARGET_SOLO_S,
            "not published" if solo is None else f"{solo:.1f} s",
        ),
        Target(
            f"max org finish <= {TARGET_FAIRNESS:g} x mean",
            fairness is not None and fairness <= TARGET_FAIRNESS,
            "not every organization finished" if fairness is None else f"{fairness:.2f} x",
        ),
    ]


def _counts(counter: Counter[str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(counter.items())) or "-"


def _listed(label: str, items: list[str]) -> list[str]:
    lines = [f"{label}: {len(items)}", *(f"  - {item}" for item in items[:LISTED])]
    if len(items) > LISTED:
        lines.append(f"  … and {len(items) - LISTED} more")
    return lines


def render(result: E2EResult, targets: list[Target]) -> str:
    c, hello = result.config, result.hello
    ratio = result.paused.rps / hello.rps if hello.rps else 0.0
    finish = _finish_stats(result)
    unfinished = sum(1 for t in result.org_finish_s.values() if t is None)
    cpu = sorted(result.cpu_s_per_brief.items(), key=lambda kv: -kv[1])
    span = f"{result.span_s:.1f} s" if result.span_s else "-"
    lines = [
        "",
        f"=== bench.e2e: {c.briefs} briefs over {c.orgs} organizations, and one solo brief ===",
        result.paused.line("ingress, consumers paused  "),
        hello.line("hello-world, same client    "),
        f"ratio ingress / hello-world: {ratio:.2f}",
        result.burst.line("ingress during the drain   "),
        f"end to end: {result.complete} of {result.accepted} burst briefs fully published, "
        f"first POST → last publish {span} = {result.briefs_per_s:.1f} briefs/s",
        "organization finish, s after the first POST: "
        + (
            f"min {finish[0]:.1f}  mean {finish[1]:.1f}  max {finish[2]:.1f}  "
            f"max/mean {finish[2] / finish[1]:.2f}"
            if finish and finish[1] > 0
            else f"{unfinished} organization(s) did not finish"
        ),
        "solo brief: "
        + (
            "not published"
            if result.solo_delay_s is None
            else f"published {result.solo_delay_s:.1f} s after its 202"
        ),
        "CPU seconds per brief: "
        + "  ".join(f"{name} {s:.3f}" for name, s in cpu)
        + f"  (total {sum(s for _, s in cpu):.3f})",
        f"runs by status:  {_counts(result.runs_by_status)}",
        f"posts by status: {_counts(result.posts_by_status)}",
        *_listed("duplicates", result.duplicates),
        *_listed("lost", result.lost),
    ]
    if result.timed_out:
        lines.append(f"the drain hit --timeout ({c.timeout_s:.0f} s)")
    lines.append("targets:")
    lines += [f"  {'met    ' if t.met else 'NOT met'}  {t.name}: {t.got}" for t in targets]
    return "\n".join(lines)
