"""The alert rules and the dashboard ask only for metrics the code exports, and show them all.

A metric renamed in briefcast/observability/metrics.py without its alert would leave the alert
silently evaluating to nothing; this catches it. With `promtool` on the PATH, the rules and
the scrape configuration are also checked by Prometheus's own tool.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from briefcast.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "briefcast.json"
# Series Prometheus makes itself for every target.
BUILTIN_SERIES = frozenset({"up", "scrape_duration_seconds"})
PROMQL_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def exported_families() -> dict[str, set[str]]:
    """Each Briefcast metric family and the series names it exports."""
    families = {
        family.name: {family.name + s for s in SUFFIXES.get(family.type, ("",))}
        for family in REGISTRY.collect()
        if family.name.startswith("briefcast_")
    }
    families |= {gauge.name: {gauge.name} for gauge in metrics.SCRAPE_GAUGES}
    return families


def series_names(expr: str) -> set[str]:
    """The series a PromQL expression selects (not its functions, labels or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges, with Grafana's $__rate_interval
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group().lower() not in PROMQL_KEYWORDS:
            names.add(match.group())
    return names


def alert_exprs() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    def panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [p for item in items for p in [item, *panels(item.get("panels", []))]]

    board = json.loads(DASHBOARD.read_text())
    return [
        target["expr"] for panel in panels(board["panels"]) for target in panel.get("targets", [])
    ]


def test_the_parser_finds_series_and_skips_the_rest() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (task, le) (rate(briefcast_task_runtime_seconds_bucket"
        '{task=~"pipeline.copy.*"}[$__rate_interval]))) > 2 and on(task) up == 1'
    )
    assert series_names(expr) == {"briefcast_task_runtime_seconds_bucket", "up"}


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_every_expression_uses_exported_series(source: str) -> None:
    exprs = alert_exprs() if source == "alerts" else dashboard_exprs()
    exported = set().union(*exported_families().values()) | BUILTIN_SERIES
    assert len(exprs) >= 10
    for expr in exprs:
        used = series_names(expr)
        assert used, expr
        assert used <= exported, (used - exported, expr)


def test_the_dashboard_shows_every_metric_family() -> None:
    used = set().union(*(series_names(expr) for expr in dashboard_exprs()))
    for family, series in exported_families().items():
        assert series & used, f"{family} is on no panel"


def test_the_alerts_cover_what_operators_must_hear_about() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    wanted = {
        "BriefcastTaskFailureRate": "briefcast_tasks_total",
        "BriefcastQueueBacklog": "briefcast_queue_depth",
        "BriefcastNoWorkerForQueue": "briefcast_queue_workers",
        "BriefcastDispatcherLag": "briefcast_dispatch_lag_seconds_bucket",
        "BriefcastPostsStuckUnknown": "briefcast_posts",
    }
    for alert, series in wanted.items():
        assert series in series_names(alerts[alert]["expr"]), alert
        assert alerts[alert]["annotations"]["summary"]
    assert 'status="unknown"' in alerts["BriefcastPostsStuckUnknown"]["expr"]


def test_prometheus_scrapes_the_api_and_the_worker_port() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["briefcast-api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert jobs["briefcast-api"]["metrics_path"] == "/metrics"
    assert {c["port"] for c in jobs["briefcast-workers"]["dns_sd_configs"]} == {9191}


def test_grafana_provisioning_points_at_the_dashboard_and_prometheus() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert (source["type"], source["uid"]) == ("prometheus", "prometheus")
    board = json.loads(DASHBOARD.read_text())
    uids = {
        target["datasource"]["uid"]
        for panel in board["panels"]
        for target in panel.get("targets", [])
    }
    assert uids == {"prometheus"}
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/briefcast.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


@pytest.mark.system_lib("promtool")
def test_promtool_accepts_the_rules_and_the_config() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None
    for command in (["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"]):
        done = subprocess.run(  # noqa: S603 - a fixed command
            [promtool, *command], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
