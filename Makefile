# Docent: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | sha256sum | cut -c1-12)
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: help install run test fuzz lint typecheck format check migrate superuser worker beat bench-ingest bench-search bench-chat bench-auth bench-login bench-recovery bench-fairness bench-relevance bench-analytics bench-realtime eval clean stop-db

help:
	@echo "make run        serve Docent on http://127.0.0.1:8000 with demo data (embedded PostgreSQL, no setup)"
	@echo "make test       run the whole test suite"
	@echo "make fuzz       fuzz every API operation against the OpenAPI schema, many examples (FUZZ_EXAMPLES)"
	@echo "make lint       ruff + mypy + import layering (lint-imports)"
	@echo "make bench-*    benchmarks (ingest, search, chat, realtime, auth, recovery, fairness, analytics); make eval DATASET=dir"

$(STAMP): requirements/base.txt requirements/dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/run.py

test: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The fuzz test of `make test`, with many more examples per operation and schemathesis's coverage phase (boundary
# values, unexpected methods); FUZZ_TIMEOUT bounds the run (seconds).
FUZZ_EXAMPLES ?= 150
FUZZ_TIMEOUT ?= 3600
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_COVERAGE=1 DJANGO_SETTINGS_MODULE=config.settings.test timeout --foreground $(FUZZ_TIMEOUT) \
		$(PY) -m pytest -n 2 --dist load -p no:cacheprovider common/core/tests/test_api_fuzz.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: lint test

migrate: $(STAMP)
	$(PY) manage.py migrate

worker: $(STAMP)
	$(VENV)/bin/celery -A config worker -l info

# Exactly one beat per deployment: its pidfile refuses a second one on the same var/.
beat: $(STAMP)
	@mkdir -p var
	$(VENV)/bin/celery -A config beat -l info --schedule var/celerybeat-schedule --pidfile var/celerybeat.pid

bench-ingest: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_ingest.py

# BENCH_ARGS: e.g. --sizes 10000 --queries 50, or --tenants --quick (see the script)
bench-search: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_search.py $(BENCH_ARGS)

bench-chat: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_chat.py

bench-auth: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_auth.py

bench-analytics: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_analytics.py

# Sockets held and fan-out in a 200-member room, next to a raw websockets server. BENCH_ARGS: e.g.
# --sockets 1000,5000,10000, --max (push until failure), --rate 50 (see the script)
bench-realtime: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_realtime.py $(BENCH_ARGS)

bench-login: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_login.py

# Kill the worker of a `make run` stack mid-document; prints the time from the kill to the document ready.
bench-recovery: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_recovery.py

# One organization's backlog, another's lone document: how long it waits, first come first served vs fair.
bench-fairness: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_fairness.py

DATASET ?= ../shared/datasets/cranfield
# EVAL_ARGS: e.g. --provider openai_compatible --base-url URL --model NAME --dimensions 1024 (see the script)
eval: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/eval_retrieval.py $(DATASET) $(EVAL_ARGS)

bench-relevance: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_relevance.py $(DATASET)

stop-db: $(STAMP)
	$(PY) -c "from config.embedded import embedded_postgres_stop; embedded_postgres_stop()"

clean: stop-db
	rm -rf var/
