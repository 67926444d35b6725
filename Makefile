# Everyday commands. `make run` and `make test` work on a fresh clone: the first call builds .venv.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What is installed: the runtime set (`make run`, the CLI) or the development set too.
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000
# Proxies whose X-Forwarded-For is believed (the login throttle counts per client address).
# None by default: uvicorn's own default trusts 127.0.0.1, so anything on the host could
# send requests under any address it likes.
FORWARDED_ALLOW_IPS ?=
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
CHAOS_ARGS ?=
BENCH_ARGS ?=
LINT_PATHS := app tests bench scripts

.PHONY: help .venv venv run test test-fast test-pg lint format typecheck openapi migrate worker clean lock
.PHONY: openapi-check ts-check clients-check browser-test
.PHONY: bench chaos
.PHONY: schemathesis

help: ## List the targets
	@grep -E '^[a-zA-Z_.-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

# The exact releases installed, with their hashes: requirements.lock (what the service runs
# on; the image installs it) and requirements-dev.lock (with the tools). `make lock` writes
# them from pyproject.toml.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
LOCK_ARGS := --universal --python-version 3.11 --generate-hashes
UPGRADE ?=

# The installer: uv, at the release the development lock pins, installs the locks' exact
# releases with their hashes in seconds (pip took minutes) and shows what it does.
UV_VERSION := $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' $(DEV_LOCK))
UV := $(BIN)/python -m uv

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	@echo "== creating $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)

$(BIN)/.uv-$(UV_VERSION): | $(BIN)/python
	@echo "== installing the installer (uv $(UV_VERSION))"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on 'uv==$(UV_VERSION)'
	@touch $@

# Reinstalled whenever pyproject.toml or its lock changes.
$(RUNTIME): pyproject.toml $(LOCK) $(BIN)/.uv-$(UV_VERSION)
	@echo "== installing the runtime dependencies ($(LOCK))"
	$(UV) pip install --python $(BIN)/python --require-hashes -r $(LOCK)
	$(UV) pip install --python $(BIN)/python --no-deps -e .
	@touch $@

$(STAMP): pyproject.toml $(DEV_LOCK) $(RUNTIME)
	@echo "== installing the development tools ($(DEV_LOCK))"
	$(UV) pip install --python $(BIN)/python --require-hashes -r $(DEV_LOCK)
	@touch $@

lock: $(STAMP) ## Pin every dependency from pyproject.toml into the lock files; UPGRADE=1 takes the newest releases
	$(BIN)/python -m uv pip compile pyproject.toml $(LOCK_ARGS) $(if $(UPGRADE),--upgrade) -o $(LOCK)
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev $(LOCK_ARGS) $(if $(UPGRADE),--upgrade) -o $(DEV_LOCK)

.venv: $(STAMP) ## Create or refresh the virtual environment with the development tools
venv: $(STAMP)

# The server takes the shell's place and ends quietly on Ctrl-C or SIGTERM. Ignoring SIGTERM
# in the shell is for make: uvicorn installs its own handler, shuts down, then raises the
# signal again to die by it, and make reported that as "make: *** [Makefile:NN: run]
# Terminated"; with SIGTERM ignored in its place, it exits 0 instead.
run: $(RUNTIME) ## Migrate, add demo data to an empty database, serve on HOST:PORT (runtime dependencies only)
	$(BIN)/python -m app.cli migrate
	$(BIN)/python -m app.cli seed-demo --if-empty
	trap '' TERM; exec $(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --no-server-header \
		--forwarded-allow-ips '$(FORWARDED_ALLOW_IPS)'

test: $(STAMP) ## Run the tests (SQLite, or the database in TEST_DATABASE_URL)
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/pytest $(PYTEST_ARGS)

# The edit-test loop: everything but the browser, Schemathesis, and the tests marked slow:
# those that start servers or CLI processes, race writers, or run the random-action machine
# (`make test` runs them all).
FAST := not browser and not schemathesis and not slow

test-fast: $(STAMP) ## The tests without the slow ones (browser, Schemathesis, subprocesses, concurrency, stateful)
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/pytest -m '$(FAST)' $(PYTEST_ARGS)

test-pg: ## Run the tests on the local PostgreSQL (PG_TEST_URL)
	$(MAKE) --no-print-directory test TEST_DATABASE_URL='$(PG_TEST_URL)'

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

typecheck: $(STAMP) ## mypy
	$(BIN)/mypy

openapi: $(RUNTIME) ## Export the OpenAPI document to openapi/openapi.json
	$(BIN)/python -m app.cli export-openapi openapi/openapi.json

openapi-check: $(STAMP) ## Check openapi/openapi.json is current and follows the API conventions
	$(BIN)/pytest tests/contract

EXAMPLES := openapi/examples
# npm ci again only when the lock file changes; node_modules stays out of git.
$(EXAMPLES)/node_modules/.installed: $(EXAMPLES)/package.json $(EXAMPLES)/package-lock.json
	cd $(EXAMPLES) && npm ci --no-audit --no-fund
	@touch $@

ts-check: $(EXAMPLES)/node_modules/.installed ## Generate TypeScript types from openapi.json, typecheck the example client
	cd $(EXAMPLES) && npx --no-install openapi-typescript ../openapi.json -o schema.d.ts
	cd $(EXAMPLES) && npx --no-install tsc --noEmit

# The generators of `make clients-check`, pinned, in a virtual environment of their own under
# the (ignored) build directory: openapi-python-client, OpenAPI Generator's CLI with its JAR
# (Java 17), and mypy for the Python driver. Never part of the service's dependencies.
CLIENT_TOOLS := $(EXAMPLES)/build/tools
CLIENT_TOOL_VERSIONS := openapi-python-client==0.29.1 openapi-generator-cli==7.26.0 mypy==2.4.1 ruff==0.17.6
$(CLIENT_TOOLS)/.installed: Makefile $(BIN)/.uv-$(UV_VERSION)
	$(UV) venv --quiet --allow-existing --python $(BIN)/python $(CLIENT_TOOLS)
	$(UV) pip install --quiet --python $(CLIENT_TOOLS)/bin/python $(CLIENT_TOOL_VERSIONS)
	@touch $@

clients-check: $(STAMP) $(EXAMPLES)/node_modules/.installed $(CLIENT_TOOLS)/.installed ## Generate three clients (Python, openapi-fetch, typescript-fetch), type-check and run their drivers against a live server
	$(BIN)/python -m scripts.clients_check

browser-test: $(STAMP) ## In headless Chromium: Swagger UI, the push service worker, the live stream client
	TRANTIB_REQUIRE_BROWSER=1 $(BIN)/pytest -m browser tests/browser $(PYTEST_ARGS)

# Examples per operation for `make schemathesis`; `make test` runs 3.
SCHEMATHESIS_EXAMPLES ?= 25

schemathesis: $(STAMP) ## Schemathesis: many generated requests per operation, as every role (database: TEST_DATABASE_URL)
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' TRANTIB_SCHEMATHESIS_EXAMPLES=$(SCHEMATHESIS_EXAMPLES) \
		$(BIN)/pytest -m schemathesis tests/contract/test_schemathesis.py $(PYTEST_ARGS)

chaos: $(STAMP) ## Crash test on PostgreSQL (PG_TEST_URL's server): kill -9 API and worker mid-lifecycle
	$(BIN)/python -m scripts.chaos --database-url '$(PG_TEST_URL)' $(CHAOS_ARGS)

bench: $(STAMP) ## Benchmark on PostgreSQL (~6 min): prints a table, writes bench/results/latest.json
	$(BIN)/python -m bench --database-url '$(PG_TEST_URL)' $(BENCH_ARGS)

migrate: $(RUNTIME) ## Upgrade the database in TRANTIB_DATABASE_URL to head
	$(BIN)/python -m app.cli migrate

worker: $(RUNTIME) ## Run the background worker
	$(BIN)/python -m app.cli worker

clean: ## Remove the virtual environment and caches (keeps var/, the local database)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
