"""How metrics leave a process: one process's registry, or the sum over a host's processes.

prometheus_client's multiprocess mode (https://prometheus.github.io/client_python/multiprocess/):
when `PROMETHEUS_MULTIPROC_DIR` is set before prometheus_client is imported, every process
writes its counters and histograms to files in that directory, and a `MultiProcessCollector`
sums them at scrape time. `briefcast dev` sets it for all its children to `<data>/metrics`,
emptied at each start (files of earlier processes would otherwise be counted again), so the
API's `/metrics` shows the uvicorn workers, the Celery workers with their prefork children
and beat together. Unset, a single process's default registry is what is served.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from briefcast.observability.metrics import MULTIPROC_ENV


def multiproc_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def fresh_multiproc_dir(path: Path) -> str:
    """An empty directory for a new set of processes' metric files."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


class _Fixed(Collector):
    """Metric families gathered before the scrape (the scrape-time gauges)."""

    def __init__(self, families: Iterable[Metric]):
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def process_registry() -> CollectorRegistry:
    """The registry to serve: every process of the host in multiprocess mode, else this one."""
    if multiproc_dir() is None:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=True)
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated upstream
    return registry


def render(extra: Iterable[Metric] = ()) -> bytes:
    """The text exposition of this host's metrics, followed by `extra` families."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_Fixed(process_registry().collect()))
    registry.register(_Fixed(extra))
    return generate_latest(registry)


def start_exporter(port: int) -> None:
    """Serve this host's metrics on `port` (a worker container's own endpoint)."""
    start_http_server(port, registry=process_registry())
