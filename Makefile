# The platform's commands. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
DEMO   ?= 1
CHROMIUM ?= /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help install browser run infra test test-unit test-integration chaos audit-verify bench bench-judge docs docs-check lint format lock clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml infra/web_assets.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m infra.web_assets
	@touch $@

install: $(STAMP) ## create .venv with the locked dependencies

# The browser tests drive Debian's Chromium (never Playwright's own download) and want a Chinese font, so
# that their screenshots show text rather than boxes. Installed here when missing, as root or with `sudo -n`.
BROWSER_APT := env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends
browser: ## make sure the browser tests have Chromium (Debian's chromium, or CHROMIUM=path) and a Chinese font
	@need=""; \
	if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$(CHROMIUM)" != /usr/bin/chromium ]; then \
	    echo "CHROMIUM=$(CHROMIUM) is not an executable Chromium: point it at one, or unset it to use Debian's chromium" >&2; exit 1; \
	  fi; \
	  need="chromium"; \
	fi; \
	if command -v fc-list >/dev/null; then fc-list :lang=zh | grep -q . || need="$$need fonts-wqy-microhei"; \
	else ls /usr/share/fonts/truetype/wqy/*.tt? /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 || need="$$need fonts-wqy-microhei"; fi; \
	[ -n "$$need" ] || exit 0; \
	if [ "$$(id -u)" = 0 ]; then as=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then as="sudo -n"; else as=no; fi; \
	if [ "$$as" != no ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages for the browser tests:$$need"; \
	  $$as $(BROWSER_APT) $$need || { $$as apt-get update && $$as $(BROWSER_APT) $$need; }; \
	fi; \
	if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "The browser tests need Chromium at $(CHROMIUM) and could not install it (not root, no sudo -n, or apt failed)." >&2; \
	  echo "Install Debian's package as root:  apt-get install -y --no-install-recommends chromium fonts-wqy-microhei" >&2; \
	  echo "(or set CHROMIUM to another Chromium). Playwright's own browser download is not used." >&2; \
	  exit 1; \
	fi; \
	case "$$need" in *fonts-*) if command -v fc-list >/dev/null && ! fc-list :lang=zh | grep -q .; then \
	  echo "warning: no Chinese font (apt-get install fonts-wqy-microhei): screenshots will show boxes for Chinese text" >&2; fi;; esac

run: $(STAMP) ## start the whole platform on the embedded broker and Valkey, with the demo district (DEMO=0: start empty; Ctrl-C stops it)
	PLATFORM_DEMO=$(DEMO) $(PY) -m infra.runtime.launcher

infra: $(STAMP) ## start only the broker and Valkey (with topics), to run one service by hand against them
	PLATFORM_PARTS=none $(PY) -m infra.runtime.launcher

test: $(STAMP) browser ## lint, then unit, contract and integration tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP) ## the fast tests only (no processes started)
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

test-integration: $(STAMP) browser ## the tests that start the real broker, Valkey and services, and the browser tests
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

chaos: $(STAMP) ## kill -9 every part in turn under load, then check no acknowledged intake was lost or doubled
	$(PY) -m infra.chaos

audit-verify: $(STAMP) ## check the hash chains of the event archive (var/archive); names the first broken entry
	$(PY) -m infra.archive verify --root $${ARCHIVE_DIR:-var/archive}

bench: $(STAMP) ## measure broker floor, intake throughput and latency on the embedded default
	$(PY) -m infra.bench

bench-archive: $(STAMP) ## only make bench's side-by-side part (the archive's p99 at 50 /s; ~10 min), kept for bench-judge
	$(PY) -m infra.bench --side-by-side-only

bench-judge: $(STAMP) ## the archive's p99 judged over the runs kept in var/bench/runs (COMMIT=<rev>: that code's only)
	$(PY) -m infra.bench_judge $(if $(COMMIT),--commit $(COMMIT))

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
