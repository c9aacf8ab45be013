# Two commands for newcomers: `make run` and `make test` (see README). Both are idempotent:
# the virtual environment in .venv/ is created once and reinstalled only when pyproject.toml
# or constraints.txt change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export BOURSE_ENV ?= development

.PHONY: run test test-postgres test-long soak e2e screenshots lint format messages lock clean help

help:
	@echo "make run            install, migrate, seed the demo and serve on http://$(HOST):$(PORT)"
	@echo "make test           install and run the test suite (SQLite; PostgreSQL too when"
	@echo "                    BOURSE_TEST_POSTGRES_URL is set)"
	@echo "make test-postgres  the same suite against PostgreSQL"
	@echo "make test-long      the long reliability tests (crashes, outages, floods, fuzzing),"
	@echo "                    on SQLite then PostgreSQL (BOURSE_TEST_POSTGRES_URL)"
	@echo "make soak           20 minutes of mixed load on SQLite and PostgreSQL at once: flat"
	@echo "                    memory, no error, exact counts (SOAK_MINUTES=3 for a shorter run)"
	@echo "make e2e            browser tests (needs Debian's chromium)"
	@echo "make screenshots    the README's pictures in docs/, from the whole-story browser test"
	@echo "make lint / format  ruff"
	@echo "make messages       extract interface strings into the English catalogue"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV) || { echo "Could not create a virtual environment: on Debian/Ubuntu, install python3-venv."; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime only, for `make run`.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	@touch $@

# Runtime and development tools, for `make test`.
$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

run: $(VENV)/.installed
	$(BIN)/bourse migrate
	$(BIN)/bourse seed-demo
	$(BIN)/bourse serve --host $(HOST) --port $(PORT)

# The suite in as many processes as the machine has cores (pytest-xdist): each test has its
# own database, so they do not meet.
PYTEST_JOBS ?= auto

test: $(VENV)/.installed-dev
	BOURSE_ENV=test $(BIN)/pytest -n $(PYTEST_JOBS)
	@if [ -n "$$BOURSE_TEST_POSTGRES_URL" ]; then \
		echo "--- PostgreSQL ($$BOURSE_TEST_POSTGRES_URL)"; \
		BOURSE_ENV=test $(BIN)/pytest -n $(PYTEST_JOBS) --db=postgres; \
	else \
		echo "PostgreSQL part not run: set BOURSE_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) to run it, or use 'make test-postgres'."; \
	fi

test-postgres: $(VENV)/.installed-dev
	BOURSE_ENV=test $(BIN)/pytest -n $(PYTEST_JOBS) --db=postgres

# Minutes each: kept out of `make test`, run by CI after it (README « Reliability »).
test-long: $(VENV)/.installed-dev
	BOURSE_ENV=test $(BIN)/pytest -m long tests
	BOURSE_ENV=test $(BIN)/pytest -m long tests --db=postgres

# Both engines at once, one server each (README « Reliability »): 20 minutes, or SOAK_MINUTES.
soak: $(VENV)/.installed-dev
	BOURSE_ENV=test $(BIN)/pytest -m soak -s tests/reliability/test_soak.py

$(VENV)/.installed-e2e: $(VENV)/.installed-dev pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,e2e]'
	@touch $@

# The Nu Html Checker and axe-core, pinned, from the npm registry (needs node, npm and java).
VNU_VERSION := 26.9.27
AXE_VERSION := 4.14.1
.tools/.installed-$(VNU_VERSION)-$(AXE_VERSION):
	npm install --silent --no-save --no-package-lock --prefix .tools vnu-jar@$(VNU_VERSION) axe-core@$(AXE_VERSION)
	@touch $@

# Needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium).
e2e: $(VENV)/.installed-e2e .tools/.installed-$(VNU_VERSION)-$(AXE_VERSION)
	BOURSE_ENV=test $(BIN)/pytest -m e2e tests/e2e

# The README's pictures (docs/*.png, 1280×800), taken by the whole-story browser test.
screenshots: $(VENV)/.installed-e2e
	BOURSE_ENV=test BOURSE_DOCS_SCREENSHOTS=1 $(BIN)/pytest -m e2e tests/e2e/test_whole_story.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: $(VENV)/.installed-dev
	# --ignore-dirs: Babel skips folders starting with "_" by default, and templates/_macros counts.
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k lazy_gettext --no-location --sort-output \
		--ignore-dirs=".* __pycache__ .venv .tools" \
		-o app/translations/messages.pot --project="Bourse à initiatives" .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l en \
		--ignore-obsolete

# Regenerates the pinned versions from a fresh environment (maintainers only).
lock:
	rm -rf /tmp/bourse-lock && $(PYTHON) -m venv /tmp/bourse-lock
	/tmp/bourse-lock/bin/pip install --quiet -e '.[dev,e2e]'
	/tmp/bourse-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
