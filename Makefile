# The two commands a newcomer needs: `make run` and `make test`. See README.md.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-faults test-browser install install-test lint bench clean

# --- installing -------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps make re-runs instant until pyproject.toml or the lock file changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -c requirements.lock -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c requirements.lock -e ".[test]"
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed node_modules/.installed

install-test: $(VENV)/.installed-test node_modules/.installed

# --- the product ------------------------------------------------------------------------

run: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl+C to stop). Emails are printed here and saved in var/mail/."
	SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# --- tests ------------------------------------------------------------------------------

# The whole suite except the browser journeys. pytest's exit code 5 means no test was
# collected, which here can only mean a broken test layout, so it fails the run.
test: install-test
	@mkdir -p var/staticfiles
	$(BIN)/python -m pytest -m "not browser and not faults" ; rc=$$? ; \
	  if [ $$rc -eq 5 ]; then echo "No tests were collected: the test layout is broken." >&2; fi ; \
	  exit $$rc

# Faults against private PostgreSQL, Redis and Celery workers that the tests start, stop and
# kill (tests/faults.py; about 3 minutes): never the shared services. Needs redis-server,
# PostgreSQL's initdb/pg_ctl and gunicorn; outside CI a missing one skips. Exit code 5 fails.
test-faults: install-test
	@mkdir -p var/staticfiles
	$(BIN)/python -m pytest -m faults -p no:randomly ; rc=$$? ; \
	  if [ $$rc -eq 5 ]; then echo "No fault tests were collected." >&2; fi ; \
	  exit $$rc

# Browser journeys in Debian's chromium (CHROMIUM, default /usr/bin/chromium). .ci/run
# installs it; on a laptop, install chromium first. Exit code 5 fails here too.
test-browser: install-test
	@mkdir -p var/staticfiles
	$(BIN)/python -m pytest -m browser -p no:randomly ; rc=$$? ; \
	  if [ $$rc -eq 5 ]; then echo "No browser tests were collected." >&2; fi ; \
	  exit $$rc

lint: install-test
	$(BIN)/ruff check .

# Pairing speed, the greedy gap and exhaustive agreement (scripts/bench_pairing.py; --full for
# networkx at 500 sites). Exits non-zero if the matching disagrees with exhaustive search.
# Then visit scheduling at 15, 75 and 250 pairs (scripts/bench_scheduler.py, about 15 s): exits
# non-zero if a proposed schedule breaks a hard constraint.
# Then the visit report (scripts/bench_report.py, about 3 minutes): the median time to draw one,
# and a programme's 30 reports with 1 and 2 workers (real Celery workers when REDIS_URL is set).
# Then the load benchmark (scripts/bench_load.py, about 3 minutes once the data is built): gunicorn
# against PostgreSQL (DATABASE_URL, else ilcop_bench on 127.0.0.1) with the national data, wrk at
# 1, 10 and 40 users; prints p50/p95 latency and peak memory (docs/benchmarks.md). Exits non-zero
# if a page answers anything but 200.
bench: install-test
	$(BIN)/python scripts/bench_pairing.py
	$(BIN)/python scripts/bench_scheduler.py
	$(BIN)/python scripts/bench_report.py
	$(BIN)/python scripts/bench_load.py

clean:
	rm -rf $(VENV) node_modules var/db.sqlite3 var/staticfiles
