# The platform's commands. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
DEMO   ?= 1

.DEFAULT_GOAL := help
.PHONY: help install run infra test test-unit test-integration chaos audit-verify bench docs docs-check lint format lock clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP) ## create .venv with the locked dependencies

run: $(STAMP) ## start the whole platform on the embedded broker and Valkey, with the demo district (DEMO=0: start empty; Ctrl-C stops it)
	PLATFORM_DEMO=$(DEMO) $(PY) -m infra.runtime.launcher

infra: $(STAMP) ## start only the broker and Valkey (with topics), to run one service by hand against them
	PLATFORM_PARTS=none $(PY) -m infra.runtime.launcher

test: $(STAMP) ## lint, then unit, contract and integration tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP) ## the fast tests only (no processes started)
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

test-integration: $(STAMP) ## the tests that start the real broker, Valkey and services
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

chaos: $(STAMP) ## kill -9 every part in turn under load, then check no acknowledged intake was lost or doubled
	$(PY) -m infra.chaos

audit-verify: $(STAMP) ## check the hash chains of the event archive (var/archive); names the first broken entry
	$(PY) -m infra.archive verify --root $${ARCHIVE_DIR:-var/archive}

bench: $(STAMP) ## measure broker floor, intake throughput and latency on the embedded default
	$(PY) -m infra.bench

docs: $(STAMP) ## regenerate JSON Schema and AsyncAPI documents of the contracts into docs/contracts
	$(PY) -m contracts.export --out docs/contracts

docs-check: $(STAMP) ## fail if docs/contracts is out of date
	$(PY) -m contracts.export --out docs/contracts --check

lint: $(STAMP) ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## ruff format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: ## re-resolve the dependencies from pyproject.toml into the two lock files
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e . && (echo "# Runtime dependencies, exact. Regenerate with 'make lock'."; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e') > requirements.lock
	.lock-venv/bin/pip install --quiet -e '.[dev]' && (echo "# Runtime plus test and tooling dependencies, exact. Regenerate with 'make lock'."; \
	  echo "-r requirements.lock"; .lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' | grep -vxFf requirements.lock) > requirements-dev.lock
	rm -rf .lock-venv

clean: ## remove the virtualenv and local data (var/)
	rm -rf $(VENV) var .pytest_cache
