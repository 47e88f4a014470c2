# Programme: `make run` serves the demo, `make test` runs the whole suite,
# `make serve` runs the production stack (docs/deploy.md).
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run serve test test-only translations extract-messages browser-deps pdf-deps vendor lint format clean

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e .
	touch $@

$(TEST_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@ $(RUN_STAMP)

translations: $(RUN_STAMP)
	$(BIN)/pybabel compile -d programme/translations

run: $(RUN_STAMP) translations pdf-deps
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	$(FLASK) demo-accounts
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The production stack from the Procfile (gunicorn + the job worker) under honcho, on
# PostgreSQL and Redis: DATABASE_URL and REDIS_URL from the environment, else the local
# servers below (the database is created when missing), migrated before it starts.
serve: export DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/programme
serve: export REDIS_URL ?= redis://127.0.0.1:6379/0
serve: $(RUN_STAMP) translations pdf-deps
	$(BIN)/python scripts/ensure_database.py
	$(FLASK) db upgrade
	$(FLASK) ensure-kpis
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile -p $(PORT)

# Chromium from Debian for the browser tests (Playwright's own download does not work here).
# Pango for WeasyPrint (PDF reports) usually comes with it; install it if it is missing.
browser-deps: pdf-deps
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "Install Debian's chromium package (sudo apt-get install chromium)"; exit 1; fi; }

pdf-deps:
	@ldconfig -p | grep -q libpangoft2-1.0 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0; \
	  else echo "Install Debian's libpango-1.0-0 and libpangoft2-1.0-0 (WeasyPrint)"; exit 1; fi; }

test: $(TEST_STAMP) translations browser-deps test-only

test-only:
	$(BIN)/pytest -q

# After changing user-facing strings: extract, then translate the new entries in
# programme/translations/fr/LC_MESSAGES/messages.po (the test suite refuses untranslated ones).
extract-messages: $(RUN_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o programme/translations/messages.pot .
	$(BIN)/pybabel -q update -N -i programme/translations/messages.pot -d programme/translations

vendor:
	scripts/vendor.sh

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
