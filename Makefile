# Two commands on a fresh machine with Python 3.11, pip and make: `make demo`, `make test`
# (`make test-fast`: the pure tests only).
# The first run builds .venv from uv.lock (uv itself goes into .tools); later runs reuse it
# and reinstall only when uv.lock or pyproject.toml changed.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
INSTALLED := $(VENV)/.installed

# Isolated, quiet Prefect and dbt for tests (ENVIRONMENT.md section 8).
TEST_ENV := PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 \
	PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120 \
	PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW=ignore DBT_SEND_ANONYMOUS_USAGE_STATS=false

.PHONY: install demo docs docs-generate test test-cycles test-fast lint format lock clean

install: $(INSTALLED)

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(INSTALLED): uv.lock pyproject.toml | $(UV)
	UV_PYTHON=$(PYTHON) $(UV) sync --frozen
	@touch $@

demo: $(INSTALLED)
	$(VENV)/bin/crosswalk demo

# dbt's documentation of every model and column, with the catalog of a warehouse a run built:
# WAREHOUSE=path, else data/warehouse.duckdb, else the demo's; written to DOCS_DIR and served on
# DOCS_PORT until Ctrl-C (`make docs-generate` only writes them).
WAREHOUSE ?= $(firstword $(wildcard data/warehouse.duckdb data/demo/warehouse.duckdb) data/warehouse.duckdb)
DOCS_PORT ?= 8080
DOCS_DIR ?= data/dbt-docs
DBT_DOCS := CROSSWALK_WAREHOUSE=$(abspath $(WAREHOUSE)) DBT_SEND_ANONYMOUS_USAGE_STATS=false \
	$(abspath $(VENV))/bin/dbt
DOCS_PATHS = --profiles-dir . --target-path $(abspath $(DOCS_DIR)) --log-path $(abspath $(DOCS_DIR))

docs: docs-generate
	cd dbt_project && $(DBT_DOCS) docs serve $(DOCS_PATHS) --port $(DOCS_PORT) --no-browser

docs-generate: $(INSTALLED)
	@test -f "$(WAREHOUSE)" || { echo "no warehouse at $(WAREHOUSE): run make demo (or a flow) first, or give WAREHOUSE=path"; exit 2; }
	cd dbt_project && $(DBT_DOCS) docs generate $(DOCS_PATHS)

# Two workers (pytest-xdist), each with its own Prefect server, emulators and folders
# (tests/conftest.py); a module goes whole to one worker, the slowest modules first.
# TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test: $(INSTALLED)
	env -u PREFECT_API_URL $(TEST_ENV) $(VENV)/bin/pytest $(XDIST) -m "not cycle" $(PYTEST_ARGS)

# The fault cycle (tests/flows/test_faults.py): every flow twice over, clean and with faults.
test-cycles: $(INSTALLED)
	env -u PREFECT_API_URL $(TEST_ENV) $(VENV)/bin/pytest -m cycle $(PYTEST_ARGS)

# The pure layer only: no emulator, no dbt, no Prefect server (tests/unit/conftest.py).
test-fast: $(INSTALLED)
	env -u PREFECT_API_URL $(TEST_ENV) $(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: | $(UV)
	$(UV) lock

clean:
	rm -rf $(VENV) .tools data .pytest_cache .ruff_cache
