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

.PHONY: install demo test test-fast lint format lock clean

install: $(INSTALLED)

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(INSTALLED): uv.lock pyproject.toml | $(UV)
	UV_PYTHON=$(PYTHON) $(UV) sync --frozen
	@touch $@

demo: $(INSTALLED)
	$(VENV)/bin/crosswalk demo

test: $(INSTALLED)
	env -u PREFECT_API_URL $(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

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
