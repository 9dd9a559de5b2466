# Two commands do all the set-up on a fresh machine (Python 3.11, no services, no keys):
#   make demo   the whole product on embedded PostgreSQL and Redis, example briefs end to end
#   make test   lint, types and the test suite (DATABASE_URL / REDIS_URL if set, else embedded)

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck format dev lock clean bench gallery

# The same uv as the Dockerfiles and the CI workflow (tests/unit/test_deploy_files.py checks).
UV_VERSION := 0.13.9

# Development installs everything: production dependencies, the dev tools and the embedded
# PostgreSQL and Redis (requirements-dev.lock). The images install requirements.lock alone.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/briefcast demo

dev: $(STAMP)
	$(BIN)/briefcast dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy briefcast tests

# Two workers, each with a database and a Redis of its own (tests/conftest.py); a file's
# tests stay on one worker, so its module fixtures start once.
test: lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile --cov --cov-report=term --cov-fail-under=80

# Speed and quality targets, measured (not asserted by tests): each prints its figures.
bench: $(STAMP)
	$(BIN)/python -m bench.sentiment
	$(BIN)/python -m bench.copy_cache
	$(BIN)/python -m bench.copy_latency
	$(BIN)/python -m bench.render

# Analytics queries over 1,000,000 snapshots in their own embedded PostgreSQL: p95 <= 100 ms.
.PHONY: bench-analytics
bench-analytics: $(STAMP)
	$(BIN)/python -m bench.analytics

# Chaos drill: 200 briefs and three campaigns under random publish faults, worker SIGKILLs,
# a Redis restart and beat killed and restarted; fails unless every run settles, each post
# exists exactly once where it should, and every due campaign occurrence has exactly one run.
.PHONY: chaos
chaos: $(STAMP)
	$(BIN)/python -m briefcast.chaos --briefs 200

# The same drill with RabbitMQ as the broker (Redis stays the result backend and cache, and
# is still restarted); RabbitMQ itself is not restarted. Its task queues in that virtual host
# are deleted first: give the drill a vhost of its own.
BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//
.PHONY: chaos-rabbitmq
chaos-rabbitmq: $(STAMP)
	$(BIN)/python -m briefcast.chaos --briefs 200 --broker '$(BROKER_URL)'

# Schemathesis against the running product (real PostgreSQL): every check, every phase,
# at least 1,000 cases; fails on any failure.
.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz

# Every image template for every format, from the example briefs, on one contact sheet.
gallery: $(STAMP)
	$(BIN)/python -m briefcast.gallery --out docs/gallery.png

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin every dependency after changing pyproject.toml: the dev lock first, then the
# production lock constrained to it, so both pin every shared package to the same version.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		-o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -c requirements-dev.lock \
		-o requirements.lock

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache .coverage
