# Two commands do all the set-up on a fresh machine (Python 3.11, no services, no keys):
#   make demo   the whole product on embedded PostgreSQL and Redis, example briefs end to end
#   make test   lint, types and the test suite (DATABASE_URL / REDIS_URL if set, else embedded)

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck format dev lock clean bench gallery

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
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
	$(BIN)/mypy briefcast

test: lint typecheck
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=80

# Speed and quality targets, measured (not asserted by tests): each prints its figures.
bench: $(STAMP)
	$(BIN)/python -m bench.sentiment
	$(BIN)/python -m bench.copy_cache
	$(BIN)/python -m bench.copy_latency
	$(BIN)/python -m bench.render

# Chaos drill: 200 briefs and three campaigns under random publish faults, worker SIGKILLs,
# a Redis restart and beat killed and restarted; fails unless every run settles, each post
# exists exactly once where it should, and every due campaign occurrence has exactly one run.
.PHONY: chaos
chaos: $(STAMP)
	$(BIN)/python -m briefcast.chaos --briefs 200

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

# Re-pin every dependency after changing pyproject.toml.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache .coverage
