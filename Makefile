# Flowyard: `make run` serves the studio, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The second test pass runs the whole suite on PostgreSQL and the Redis channel layer.
SCALE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/flowyard
SCALE_REDIS_URL ?= redis://127.0.0.1:6379/0
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint test-embedded test-scaled install migrate clean

run: install migrate
	@$(PY) manage.py seed_demo
	@$(PY) manage.py login_link --base-url http://$(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

test: lint test-embedded test-scaled

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run

# Browser tests run in their own pytest process: Playwright's sync API keeps an event loop in
# the main thread, which the asyncio tests must not share.
PYTEST := $(VENV)/bin/pytest

test-embedded: install
	$(PYTEST) -m "not browser"
	$(PYTEST) -m browser

test-scaled: install
	DATABASE_URL=$(SCALE_DATABASE_URL) REDIS_URL=$(SCALE_REDIS_URL) $(PYTEST) -m "not browser"
	DATABASE_URL=$(SCALE_DATABASE_URL) REDIS_URL=$(SCALE_REDIS_URL) $(PYTEST) -m browser

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

migrate: install
	@$(PY) manage.py migrate --noinput -v 0

clean:
	rm -rf $(VENV) staticfiles test_db*.sqlite3
