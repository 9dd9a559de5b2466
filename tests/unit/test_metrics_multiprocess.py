"""Multiprocess mode: processes sharing PROMETHEUS_MULTIPROC_DIR are served as one sum.

Each process is a real subprocess (the mode is chosen when prometheus_client is imported, so
the test process itself, which uses the default registry, cannot switch).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from briefcast.embedded import free_port
from briefcast.observability.exposition import fresh_multiproc_dir

COUNT = """
from briefcast.observability import metrics
metrics.TASKS.labels("pipeline.copy.generate", "success").inc({n})
metrics.RENDER_SECONDS.labels("headline", "instagram_portrait").observe(0.03)
"""
# A worker container's own endpoint: the worker_init handler with WORKER_METRICS_PORT set.
SERVE_AND_READ = """
import urllib.request
from briefcast.observability import celery_metrics
celery_metrics._serve_worker_metrics(sender=None)
with urllib.request.urlopen("http://127.0.0.1:{port}/metrics", timeout=5) as response:
    print("--- metrics ---\\n" + response.read().decode())
"""
RENDER = """
import sys
from briefcast.observability import exposition
sys.stdout.write("--- metrics ---\\n" + exposition.render().decode())
"""


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _samples(output: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = output.split("--- metrics ---\n", 1)[1]  # after the process's log lines
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_processes_are_summed_by_the_api_and_the_worker_endpoint(tmp_path: Path) -> None:
    directory = fresh_multiproc_dir(tmp_path / "metrics")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
    _python(COUNT.format(n=3), env)
    _python(COUNT.format(n=4), env)
    assert len(list(Path(directory).glob("*.db"))) >= 2  # one file set per process

    port = free_port()
    for text in (
        _python(RENDER, env),
        _python(SERVE_AND_READ.format(port=port), {**env, "WORKER_METRICS_PORT": str(port)}),
    ):
        samples = _samples(text)
        success = frozenset({("task", "pipeline.copy.generate"), ("outcome", "success")})
        assert samples[("briefcast_tasks_total", success)] == 7
        render = frozenset({("template", "headline"), ("format", "instagram_portrait")})
        assert samples[("briefcast_render_seconds_count", render)] == 2


def test_a_fresh_directory_forgets_earlier_processes(tmp_path: Path) -> None:
    directory = fresh_multiproc_dir(tmp_path / "metrics")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
    _python(COUNT.format(n=5), env)
    assert fresh_multiproc_dir(tmp_path / "metrics") == directory
    assert list(Path(directory).iterdir()) == []
    assert "briefcast_tasks_total{" not in _python(RENDER, env)
